import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  carriedOverText, emptySession, EVENT_KINDS, HANDLERS, PAUSED_REASON, reduceSession, reduceSessionAll, ResumableStream, type EventSourceLike, type Item, type ServerEvent,
  type StreamEnvironment,
} from './events';
import { reduceDashboard, withListed, type Dashboard } from './dashboard';
import { networkSummary } from './components/Transcript';

const S = 'sess1';
let seq = 0;
const ev = (kind: string, data: Record<string, unknown> = {}, at = ++seq): ServerEvent => ({ kind, data: { sessionId: S, seq: at, ...data } });

describe('reduceSession', () => {
  it('joins deltas into one message and lets the whole message replace them', () => {
    seq = 0;
    const events = [
      ev('message.user', { text: 'hi', sentBy: 'phone' }),
      ev('message.delta', { text: 'Hel' }),
      ev('message.delta', { text: 'lo' }),
      ev('message', { text: 'Hello.' }),
    ];
    const view = reduceSessionAll(emptySession(), events);
    expect(view.items.map((i) => i.type)).toEqual(['user', 'assistant']);
    expect(view.items[1]).toMatchObject({ type: 'assistant', text: 'Hello.', done: true });
    // Mid-stream, the deltas are already one growing message.
    const streaming = reduceSessionAll(emptySession(), events.slice(0, 3));
    expect(streaming.items[1]).toMatchObject({ text: 'Hello', done: false });
  });

  it('gathers connections in a row into one line, a new line after anything else', () => {
    seq = 0;
    const connection = (host: string, outcome: string) => ev('network.connection', { host, port: 443, outcome, reason: 'why', sent: 10, received: 20, milliseconds: 5 });
    const view = reduceSessionAll(emptySession(), [
      connection('a.example.org', 'allowed'), connection('b.example.org', 'denied'), ev('message', { text: 'Done.' }), connection('c.example.org', 'allowed'),
    ]);
    expect(view.items.map((i) => i.type)).toEqual(['network', 'assistant', 'network']);
    const first = view.items[0] as Extract<Item, { type: 'network' }>;
    expect(first.connections.map((c) => [c.host, c.outcome])).toEqual([['a.example.org', 'allowed'], ['b.example.org', 'denied']]);
  });

  it('tells an allowed host that could not be reached apart from a refusal (outcome failed)', () => {
    seq = 0;
    const connection = (host: string, outcome: string, reason: string) => ev('network.connection', { host, port: 8080, outcome, reason, sent: 0, received: 0, milliseconds: 5 });
    const one = (outcome: string, reason: string) => reduceSessionAll(emptySession(), [connection('dead.example.org', outcome, reason)]).items[0] as Extract<Item, { type: 'network' }>;
    const failed = one('failed', 'dead.example.org:8080 did not answer (ConnectionRefused).');
    expect(failed.connections[0]!.outcome).toBe('failed');
    expect(networkSummary(failed.connections)).toBe('Could not connect: dead.example.org:8080');
    expect(networkSummary(one('denied', 'Denied by the owner.').connections)).toBe('Refused: dead.example.org:8080');
    expect(networkSummary(one('allowed', 'Allowed by the owner.').connections)).toBe('Connected: dead.example.org:8080');
    const three = reduceSessionAll(emptySession(), [connection('a.example.org', 'failed', 'x'), connection('b.example.org', 'denied', 'y'), connection('c.example.org', 'allowed', 'z')]);
    expect(networkSummary((three.items[0] as Extract<Item, { type: 'network' }>).connections))
      .toBe('3 connections: a.example.org:8080, b.example.org:8080, 1 more (1 refused, 1 could not connect)');
  });

  it("says a session's place in line for an agent slot, until its agent starts", () => {
    seq = 0;
    const reason = 'waiting for an agent slot: starts when one of 4 running sessions finishes or pauses (2nd in line)';
    const inLine = reduceSessionAll(emptySession(), [ev('session.status', { status: 'queued', mode: 'ask', reason })]);
    expect(inLine.inLine).toBe(reason);
    expect(reduceSession(inLine, ev('session.status', { status: 'running', mode: 'ask' })).inLine).toBeNull();
  });

  it('says the agent is paused while a call waits for the owner, until it runs again', () => {
    seq = 0;
    const paused = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'go' }),
      ev('session.status', { status: 'waiting_approval', mode: 'ask' }),
      ev('session.status', { status: 'waiting_approval', mode: 'ask', reason: PAUSED_REASON }),
    ]);
    expect(paused.paused).toBe(true);
    expect(paused.turnActive).toBe(true);
    const resumed = reduceSession(paused, ev('session.status', { status: 'running', mode: 'ask' }));
    expect(resumed.paused).toBe(false);
  });

  it('shows a stall until the session shows any sign of progress', () => {
    seq = 0;
    const stalled = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'go' }),
      ev('session.status', { status: 'running', mode: 'ask' }),
      ev('session.error', { code: 'AGENT_STALLED', message: 'No word from opencode for 180 s', silentSeconds: 180 }),
      ev('session.status', { status: 'running', mode: 'ask' }),
    ]);
    expect(stalled.stalled).toBe(true);
    expect(stalled.turnActive).toBe(true);
    expect(stalled.items.at(-1)).toMatchObject({ type: 'error', message: 'No word from opencode for 180 s' });
    expect(reduceSession(stalled, ev('message.delta', { text: 'back' })).stalled).toBe(false);
    expect(reduceSession(stalled, ev('session.error', { message: 'other trouble' })).stalled).toBe(false);
  });

  it('passes over a kind it does not know (a newer server), keeping its seq and all it shows', () => {
    seq = 0;
    const before = reduceSessionAll(emptySession(), [ev('message.user', { text: 'go' }), ev('message', { text: 'Done.' })]);
    const after = reduceSessionAll(before, [ev('kind.from.a.newer.server', { text: 'whatever it says' }), ev('message.user', { text: 'next' })]);
    expect(after.lastSeq).toBe(4);
    expect(after.items.map((i) => i.type)).toEqual(['user', 'assistant', 'user']);
    expect(after.items[1]).toMatchObject({ text: 'Done.', done: true });
  });

  it('shows an exit with what the agent printed, and a restart of the failed session as resumed', () => {
    seq = 0;
    const failed = reduceSessionAll(emptySession(), [
      ev('session.status', { status: 'running', mode: 'ask' }),
      ev('session.error', { message: 'The claude-code process exited unexpectedly (exit code 137).', stderrTail: 'killed' }),
      ev('session.status', { status: 'failed', mode: 'ask', reason: 'agent exited with code 137' }),
    ]);
    expect(failed.items[0]).toMatchObject({ type: 'error', stderrTail: 'killed' });
    expect(failed.turnActive).toBe(false);
    const restarted = reduceSession(failed, ev('session.status', { status: 'idle', mode: 'ask', reason: 'resumed' }));
    expect(restarted.items.at(-1)).toMatchObject({ type: 'notice', text: 'Session resumed: the agent continues its conversation' });
  });

  it('shows the queue as the server last said it, held only while anything waits', () => {
    seq = 0;
    const queued = { id: 'q1', text: 'after this', sentBy: 'phone', queuedAt: '2026-11-23T00:00:00Z' };
    const view = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'go' }),
      ev('queue.updated', { messages: [queued, { ...queued, id: 'q2', text: 'then this' }], held: false }),
      ev('queue.updated', { messages: [{ ...queued, id: 'q2', text: 'then this' }], held: true }),
    ]);
    expect(view.queue.map((m) => m.text)).toEqual(['then this']);
    expect(view.queueHeld).toBe(true);
    const emptied = reduceSession(view, ev('queue.updated', { messages: [], held: true }));
    expect(emptied.queue).toEqual([]);
    expect(emptied.queueHeld).toBe(false);
  });

  it('ignores an event replayed with a seq it already has, so a reconnect never doubles anything', () => {
    seq = 0;
    const events = [ev('message.user', { text: 'one' }), ev('message.delta', { text: 'a' }), ev('message.delta', { text: 'b' }), ev('message', { text: 'ab' })];
    const once = reduceSessionAll(emptySession(), events);
    const twice = reduceSessionAll(once, events);
    const overlapping = reduceSessionAll(reduceSessionAll(emptySession(), events.slice(0, 3)), events.slice(1));
    expect(twice).toBe(once);
    expect(overlapping.items).toEqual(once.items);
    expect(overlapping.lastSeq).toBe(4);
  });

  it('keeps text from separate turns in separate messages, in seq order', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'q1' }), ev('message', { text: 'a1' }), ev('turn.completed', { stopReason: 'end_turn', isError: false }),
      ev('message.user', { text: 'q2' }), ev('message.delta', { text: 'a2' }), ev('turn.completed', { stopReason: 'end_turn', isError: false }),
    ]);
    expect(view.items.map((i) => ('text' in i ? i.text : i.type))).toEqual(['q1', 'a1', 'q2', 'a2']);
    expect(view.items.every((i) => i.type !== 'assistant' || i.done)).toBe(true);
    expect(view.turnActive).toBe(false);
  });

  it('follows an approval from request to decision, and a tool call to its result', () => {
    seq = 0;
    let view = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'go' }),
      ev('tool.call', { toolCallId: 't1', tool: 'Bash', kind: 'execute', title: 'ls', input: { command: 'ls' } }),
      ev('approval.requested', { approvalId: 'a1', toolCallId: 't1', tool: 'Bash', kind: 'execute', title: 'ls', input: { command: 'ls' }, createdAt: 'now' }),
      ev('session.status', { status: 'waiting_approval', mode: 'ask' }),
    ]);
    expect(view.status).toBe('waiting_approval');
    const approval = () => view.items.find((i) => i.type === 'approval');
    expect(approval()).toMatchObject({ approval: { approvalId: 'a1', status: 'pending' } });

    view = reduceSessionAll(view, [
      ev('approval.resolved', { approvalId: 'a1', toolCallId: 't1', status: 'decided', decision: 'deny', decidedBy: 'phone', message: 'no' }),
      ev('tool.result', { toolCallId: 't1', content: 'refused', isError: true, truncated: false }),
    ]);
    expect(approval()).toMatchObject({ approval: { status: 'decided', decision: 'deny', decidedBy: 'phone', message: 'no' } });
    expect(view.items.find((i) => i.type === 'tool')).toMatchObject({ result: { content: 'refused', isError: true } });
    // A replayed request does not bring the card back to pending.
    const replayed = reduceSession(view, { kind: 'approval.requested', data: { sessionId: S, seq: view.lastSeq + 1, approvalId: 'a1', toolCallId: 't1' } });
    expect(replayed.items.filter((i) => i.type === 'approval')).toHaveLength(1);
    expect(replayed.items.find((i) => i.type === 'approval')).toMatchObject({ approval: { status: 'decided' } });
  });

  it('shows who may decide a two-person call, each allow so far, and an escalation', () => {
    seq = 0;
    let view = reduceSessionAll(emptySession(), [
      ev('approval.requested', { approvalId: 'a2', toolCallId: 't2', tool: 'Bash', kind: 'execute', title: 'rm -rf build', input: {},
        risk: 'shell', deciderRole: 'approver', needed: 2 }),
    ]);
    const approval = () => (view.items.find((i) => i.type === 'approval') as Extract<Item, { type: 'approval' }>).approval;
    expect(approval()).toMatchObject({ risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy: [] });
    view = reduceSessionAll(view, [
      ev('approval.vote', { approvalId: 'a2', toolCallId: 't2', allowedBy: ['Ada'], needed: 2 }),
      ev('approval.escalated', { approvalId: 'a2', toolCallId: 't2', to: 'owner' }),
    ]);
    expect(approval()).toMatchObject({ status: 'pending', allowedBy: ['Ada'], needed: 2, escalatedTo: 'owner' });
    // A vote for a call this view never saw changes nothing.
    const before = view.items;
    view = reduceSession(view, ev('approval.vote', { approvalId: 'zz', toolCallId: 'x', allowedBy: ['Bo'], needed: 2 }));
    expect(view.items).toEqual(before);
  });

  it('takes who may decide and who allowed from the approvals list, which is read now', () => {
    seq = 0;
    // Replayed from an older copy: the request without the team's fields, and no vote yet.
    const view = reduceSessionAll(emptySession(), [
      ev('approval.requested', { approvalId: 'a3', toolCallId: 't3', tool: 'Bash', kind: 'execute', title: 'make', input: {} }),
    ]);
    const listed = [{ id: 'a3', risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy: ['Ada'] }];
    const merged = withListed(view, listed);
    expect(merged.items[0]).toMatchObject({ approval: { risk: 'shell', needed: 2, allowedBy: ['Ada'] } });
    // Nothing new: the same view, so nothing renders again.
    expect(withListed(merged, listed)).toBe(merged);
    expect(withListed(view, [])).toBe(view);
  });

  it('takes what this person may do with a call from the approvals list, the only one that says', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [
      ev('approval.requested', { approvalId: 'a4', toolCallId: 't4', tool: 'Bash', kind: 'execute', title: 'make', input: {}, risk: 'shell', deciderRole: 'approver', needed: 2 }),
    ]);
    const offers = { allowOnce: false, allowSession: false, allowAlways: false, edit: false, deny: true, answer: false, waitingFor: 'Waiting for another person\'s allow' };
    const merged = withListed(view, [{ id: 'a4', risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy: ['Ada'], offers }]);
    expect(merged.items[0]).toMatchObject({ approval: { offers, allowedBy: ['Ada'] } });
    // A list that has not said yet keeps what was known.
    expect(withListed(merged, [{ id: 'a4', risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy: ['Ada'] }])).toBe(merged);
  });

  it('marks an "allow for this session" grant, which changes who may steer the session', () => {
    seq = 0;
    let view = reduceSessionAll(emptySession(), [
      ev('approval.requested', { approvalId: 'a5', toolCallId: 't5', tool: 'Bash', kind: 'execute', title: 'make', input: {} }),
      ev('approval.resolved', { approvalId: 'a5', status: 'decided', decision: 'allow_once' }),
    ]);
    expect(view.grantedAt).toBe(0);
    view = reduceSessionAll(view, [
      ev('approval.requested', { approvalId: 'a6', toolCallId: 't6', tool: 'Bash', kind: 'execute', title: 'make', input: {} }),
      ev('approval.resolved', { approvalId: 'a6', status: 'decided', decision: 'allow_session' }),
    ]);
    expect(view.grantedAt).toBe(view.lastSeq);
  });

  it('updates one to-do list per turn in place and keeps the latest usage', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'plan it' }),
      ev('plan', { entries: [{ content: 'a', status: 'in_progress' }, { content: 'b', status: 'pending' }] }),
      ev('plan', { entries: [{ content: 'a', status: 'completed' }, { content: 'b', status: 'in_progress' }] }),
      ev('usage', { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.01 }),
      ev('usage', { inputTokens: 20, outputTokens: 7, cacheReadTokens: 1, cacheWriteTokens: 0, costUsd: 0.02 }),
    ]);
    const plans = view.items.filter((i) => i.type === 'plan');
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ entries: [{ status: 'completed' }, { status: 'in_progress' }] });
    expect(view.usage).toMatchObject({ inputTokens: 20, costUsd: 0.02 });
    expect(view.totalTokens).toBe(42);
  });

  it('tells a stopped turn as stopped, never as an error, with no "0 in · 0 out"', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [
      ev('message.user', { text: 'go' }),
      ev('usage', { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null }),
      ev('turn.completed', { stopReason: 'end_turn', isError: false }),
      ev('message.user', { text: 'again' }),
      ev('usage', { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null }),
      // An older server sent a stopped Claude Code turn as an error too.
      ev('turn.completed', { stopReason: 'cancelled', isError: true }),
    ]);
    const notices = view.items.filter((i) => i.type === 'notice');
    expect(notices).toMatchObject([{ text: 'Turn stopped', tone: 'info' }]);
    expect(view.usage).toBeUndefined();
  });
});

describe('a call announced before its input', () => {
  const at = (seq: number, kind: string, data: Record<string, unknown>) => ({ kind, data: { sessionId: S, seq, ...data } });

  it('shows the command in the same row once the agent tells it, and a replay changes nothing', () => {
    const events = [
      at(1, 'tool.call', { toolCallId: 'q1', tool: 'run_shell_command', kind: 'execute', title: 'Shell', input: {} }),
      at(2, 'tool.call.updated', { toolCallId: 'q1', title: 'echo hi > made.txt (run it)', input: { command: 'echo hi > made.txt' }, inputMissing: false }),
      at(3, 'tool.result', { toolCallId: 'q1', content: '', isError: false, truncated: false }),
    ];
    const view = reduceSessionAll(emptySession(), events);
    const tools = view.items.filter((i) => i.type === 'tool');
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({ seq: 1, title: 'echo hi > made.txt (run it)', input: { command: 'echo hi > made.txt' }, inputMissing: false });
    expect(reduceSessionAll(view, events).items).toEqual(view.items);
  });

  it('says so when the call ends without it', () => {
    const view = reduceSessionAll(emptySession(), [
      at(1, 'tool.call', { toolCallId: 'q2', tool: 'run_shell_command', kind: 'execute', title: 'Shell', input: {} }),
      at(2, 'tool.call.updated', { toolCallId: 'q2', title: 'Shell', input: {}, inputMissing: true }),
      at(3, 'tool.call.updated', { toolCallId: 'unknown', title: 'Nothing', input: {}, inputMissing: false }),
    ]);
    expect(view.items).toHaveLength(1);
    expect(view.items[0]).toMatchObject({ type: 'tool', title: 'Shell', inputMissing: true });
  });
});

describe('interrupted and resumed', () => {
  it('marks a call with no result as interrupted when the session is, and says when it resumes', () => {
    const at = (seq: number, kind: string, data: Record<string, unknown>) => ({ kind, data: { sessionId: S, seq, ...data } });
    let view = reduceSessionAll(emptySession(), [
      at(1, 'session.status', { status: 'running', mode: 'ask' }),
      at(2, 'tool.call', { toolCallId: 't1', tool: 'Bash', kind: 'execute', title: 'sleep 100', input: {} }),
      at(3, 'session.status', { status: 'interrupted', mode: 'ask', reason: 'the server stopped' }),
    ]);
    const tool = view.items.find((i) => i.type === 'tool');
    expect(tool && tool.type === 'tool' && tool.interrupted).toBe(true);
    view = reduceSessionAll(view, [at(4, 'session.status', { status: 'idle', mode: 'ask' })]);
    expect(view.items.some((i) => i.type === 'notice' && i.text.startsWith('Session resumed'))).toBe(true);
  });
});

describe('reduceDashboard', () => {
  it('takes an archived session out of the lists and brings it back when unarchived', () => {
    const session = { id: S, projectId: 'p', agent: 'claude-code', model: null, title: null, mode: 'ask' as const, status: 'idle' as const, createdAt: '', updatedAt: '', lastSeq: 1, archivedAt: null };
    let board: Dashboard = { sessions: { [S]: session }, pending: {} };
    board = reduceDashboard(board, { kind: 'session.status', data: { sessionId: S, seq: 2, status: 'stopped', mode: 'ask', reason: 'archived' } });
    expect(board.sessions[S]!.archivedAt).toBeTruthy();
    expect(board.sessions[S]!.status).toBe('stopped');
    board = reduceDashboard(board, { kind: 'session.status', data: { sessionId: S, seq: 3, status: 'stopped', mode: 'ask', reason: 'unarchived' } });
    expect(board.sessions[S]!.archivedAt).toBeNull();
  });

  it('counts pending approvals across sessions and forgets resolved ones', () => {
    const session = { id: S, projectId: 'p', agent: 'claude-code', model: null, title: null, mode: 'ask' as const, status: 'running' as const, createdAt: '', updatedAt: '', lastSeq: 1, archivedAt: null };
    let board: Dashboard = { sessions: { [S]: session }, pending: {} };
    board = reduceDashboard(board, { kind: 'approval.requested', data: { sessionId: S, seq: 2, approvalId: 'a1', createdAt: 't' } });
    board = reduceDashboard(board, { kind: 'approval.requested', data: { sessionId: S, seq: 2, approvalId: 'a1', createdAt: 't' } });
    board = reduceDashboard(board, { kind: 'session.status', data: { sessionId: S, seq: 3, status: 'waiting_approval', mode: 'ask' } });
    expect(Object.keys(board.pending)).toEqual(['a1']);
    expect(board.sessions[S]!.status).toBe('waiting_approval');
    board = reduceDashboard(board, { kind: 'approval.resolved', data: { sessionId: S, seq: 4, approvalId: 'a1' } });
    expect(board.pending).toEqual({});
  });
});

// A scripted EventSource and clock, so resume can be checked without a network.
class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (e: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() { this.closed = true; }
  open() { this.readyState = 1; this.onopen?.(new Event('open')); }
  fail() { this.onerror?.(new Event('error')); }
  /** Dispatches a frame as a browser does: to the listeners of its name, and to `onerror` for a frame named `error`. */
  emit(kind: string, id: number, data: Record<string, unknown> = {}) {
    const message = new MessageEvent(kind, { lastEventId: String(id), data: JSON.stringify({ sessionId: S, seq: id, ...data }) });
    if (kind === 'error') this.onerror?.(message);
    this.listeners.get(kind)?.forEach((l) => l(message));
  }
}

function fakeEnvironment() {
  const sources: FakeSource[] = [];
  let timers: { fn: () => void; ms: number }[] = [];
  let wake = () => {};
  const env: StreamEnvironment = {
    open: (url) => { const s = new FakeSource(url); sources.push(s); return s; },
    onWake: (listener) => { wake = listener; return () => { wake = () => {}; }; },
    setTimeout: (fn, ms) => { const t = { fn, ms }; timers.push(t); return t; },
    clearTimeout: (t) => { timers = timers.filter((x) => x !== t); },
  };
  const runTimers = () => { const due = timers; timers = []; due.forEach((t) => t.fn()); };
  return { env, sources, runTimers, wake: () => wake(), timers: () => timers };
}

describe('ResumableStream', () => {
  it('reconnects after an error asking only for events after the last one it saw', () => {
    const fake = fakeEnvironment();
    const got: number[] = [];
    const stream = new ResumableStream({ url: '/api/sessions/s/events', env: fake.env, onEvents: (batch) => got.push(...batch.map((e) => e.data.seq)) });
    expect(fake.sources[0]!.url).toBe('/api/sessions/s/events?after=0');
    fake.sources[0]!.open();
    fake.sources[0]!.emit('message', 1);
    fake.sources[0]!.emit('message', 2);
    fake.sources[0]!.fail();
    expect(fake.sources[0]!.closed).toBe(true);
    fake.runTimers(); // delivers the batch and fires the reconnect
    expect(stream.lastId).toBe(2);
    expect(fake.sources[1]!.url).toBe('/api/sessions/s/events?after=2');
    // The server sends exactly what follows; a stray replay of 2 is dropped anyway.
    fake.sources[1]!.emit('message', 2);
    fake.sources[1]!.emit('message', 3);
    fake.runTimers();
    expect(got).toEqual([1, 2, 3]);
    stream.close();
  });

  it("opened at a page's last event, asks only for what follows it, and after a drop only for what it missed", () => {
    const fake = fakeEnvironment();
    const got: number[] = [];
    const stream = new ResumableStream({ url: '/api/sessions/s/events', after: 500_000, env: fake.env, onEvents: (batch) => got.push(...batch.map((e) => e.data.seq)) });
    expect(fake.sources[0]!.url).toBe('/api/sessions/s/events?after=500000');
    fake.sources[0]!.open();
    fake.sources[0]!.emit('message', 500_001);
    fake.sources[0]!.fail();
    fake.runTimers();
    expect(fake.sources[1]!.url).toBe('/api/sessions/s/events?after=500001');
    fake.sources[1]!.emit('message', 500_002);
    fake.runTimers();
    expect(got).toEqual([500_001, 500_002]);
    stream.close();
  });

  it('reconnects at once when the network comes back or the page is shown again, from the same cursor', () => {
    const fake = fakeEnvironment();
    const stream = new ResumableStream({ url: '/api/sessions/s/events', after: 7, env: fake.env, onEvents: () => {} });
    expect(fake.sources[0]!.url).toBe('/api/sessions/s/events?after=7');
    fake.sources[0]!.emit('message', 8);
    fake.wake();
    expect(fake.sources[0]!.closed).toBe(true);
    expect(fake.sources[1]!.url).toBe('/api/sessions/s/events?after=8');
    // Events from the dropped connection are ignored.
    const before = stream.lastId;
    fake.sources[0]!.emit('message', 9);
    expect(stream.lastId).toBe(before);
    stream.close();
    fake.wake();
    expect(fake.sources).toHaveLength(2);
  });

  it('takes a frame the server named `error` (an older server) for an event to show, not a lost connection', () => {
    const fake = fakeEnvironment();
    const got: ServerEvent[] = [];
    const stream = new ResumableStream({ url: '/api/sessions/s/events', env: fake.env, onEvents: (batch) => got.push(...batch) });
    fake.sources[0]!.open();
    fake.sources[0]!.emit('message', 1, { text: 'Working on it.' });
    fake.sources[0]!.emit('error', 2, { message: 'The agent exited unexpectedly.' });
    fake.sources[0]!.emit('message', 3, { text: 'Later reply.' });
    fake.runTimers();
    expect(fake.sources).toHaveLength(1);
    expect(fake.sources[0]!.closed).toBe(false);
    expect(fake.timers()).toEqual([]);
    expect(stream.lastId).toBe(3);
    expect(got.map((e) => e.kind)).toEqual(['message', 'session.error', 'message']);
    expect(reduceSessionAll(emptySession(), got).items.map((i) => i.type)).toEqual(['assistant', 'error', 'assistant']);
    stream.close();
  });

  it('passes over an event kind it does not know and goes on with the next', () => {
    const fake = fakeEnvironment();
    const got: number[] = [];
    const stream = new ResumableStream({ url: '/api/sessions/s/events', env: fake.env, onEvents: (batch) => got.push(...batch.map((e) => e.data.seq)) });
    fake.sources[0]!.open();
    fake.sources[0]!.emit('kind.from.a.newer.server', 1);
    fake.sources[0]!.emit('message', 2);
    fake.runTimers();
    expect(fake.sources[0]!.closed).toBe(false);
    expect(got).toEqual([2]);
    expect(stream.lastId).toBe(2);
    stream.close();
  });

  it('backs off between failed attempts, and a dashboard with no cursor asks for the tail only', () => {
    const fake = fakeEnvironment();
    const stream = new ResumableStream({ url: '/api/events', tail: true, env: fake.env, onEvents: () => {} });
    expect(fake.sources[0]!.url).toBe('/api/events?tail=true');
    fake.sources[0]!.fail();
    const first = fake.timers()[0]!.ms;
    fake.runTimers();
    fake.sources[1]!.fail();
    expect(fake.timers()[0]!.ms).toBeGreaterThan(first);
    fake.runTimers();
    fake.sources[2]!.emit('session.status', 41, { status: 'idle' });
    fake.sources[2]!.fail();
    fake.runTimers();
    expect(fake.sources[3]!.url).toBe('/api/events?after=41');
    stream.close();
  });
});

describe('HANDLERS', () => {
  // The server's kinds, as its catalogue (Realtime/SessionEvents.cs, SessionEventCatalogue) writes them into the OpenAPI
  // document that ApiDocumentTests holds to what the server serves.
  const served = Object.keys(
    (JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as { components: { schemas: { SessionEvents: { properties: object } } } })
      .components.schemas.SessionEvents.properties,
  ).sort();

  it('has a handler for every kind the server sends, and none for a kind it does not', () => {
    expect(served.length).toBeGreaterThan(15);
    expect(Object.keys(HANDLERS).sort()).toEqual(served);
    expect(EVENT_KINDS().sort()).toEqual(served);
  });

  it('folds each kind with a payload missing every field without throwing, its seq kept', () => {
    for (const kind of served) {
      const view = reduceSession(emptySession(), { kind, data: { sessionId: S, seq: 1 } });
      expect(view.lastSeq).toBe(1);
    }
    // A kind this version does not know is skipped, its seq kept.
    expect(reduceSession(emptySession(), { kind: 'from.the.future', data: { sessionId: S, seq: 4 } }).lastSeq).toBe(4);
  });
});

describe('carriedOverText', () => {
  it('says a rewind went back before the turn, and how the conversation goes on, with no terminal in it', () => {
    const forked = carriedOverText({ source: 'rewind', entries: 6, skipped: 0, turn: 4 });
    expect(forked).toContain('Rewound to before turn 4');
    expect(forked).toContain('carried over up to turn 3');
    expect(forked).not.toContain('terminal');
    expect(carriedOverText({ source: 'rewind', entries: 0, skipped: 0, turn: 4 })).toContain('told what the earlier turns said');
    expect(carriedOverText({ source: 'rewind', entries: 0, skipped: 0, turn: 1 })).toContain('starts afresh');
  });

  it('says a fork and an undo in their own words, and a terminal\'s as before', () => {
    expect(carriedOverText({ source: 'fork', entries: 2, skipped: 0, turn: 2 })).toContain('Forked from before turn 2');
    expect(carriedOverText({ source: 'undo', entries: 9, skipped: 0, turn: 5 })).toContain('The rewind was undone');
    expect(carriedOverText({ source: 'terminal', entries: 9, skipped: 3 })).toBe('Above: the conversation so far in the terminal (the 3 oldest left out). From here on, it goes on in PocketCoder.');
  });

  it('shows a rewind as its own item (which carries the Undo), everything else as a notice', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [ev('history.imported', { source: 'rewind', entries: 0, skipped: 0, turn: 2 }),
      ev('history.imported', { source: 'fork', entries: 0, skipped: 0, turn: 2 })]);
    expect(view.items.map((i) => i.type)).toEqual(['rewound', 'notice']);
  });
});
