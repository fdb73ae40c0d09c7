import { describe, expect, it } from 'vitest';
import { emptySession, EVENT_KINDS, reduceSessionAll, type EventKind, type Item, type ServerEvent, type SessionView } from './events';
import { MODEL_REASON } from './replies';
import { addLive, emptyWindow } from './transcriptWindow';

// A property of the fold (issue #67): whatever the log holds between a reply's deltas and its final form, however the
// events are batched, replayed or doubled on the way, each message is shown once, nothing types after its final form, and
// folding the log again from scratch (a reload) shows the same.

/** mulberry32: a small seeded generator, so a failing run can be run again from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rnd = () => number;
const int = (rnd: Rnd, below: number) => Math.floor(rnd() * below);
const pick = <T,>(rnd: Rnd, of: readonly T[]): T => of[int(rnd, of.length)]!;

type Data = Record<string, unknown>;
/** An event before the log numbers it. */
interface Draft { kind: EventKind; data: Data }

const connection = (host: string, outcome: string, reason: string): Data =>
  ({ host, port: 443, outcome, reason, sent: 1200, received: 48_000, milliseconds: 900 });

/**
 * One event of every kind but the reply's own (deltas, main-thread final forms) and the owner's message (a new turn): what
 * may land in the middle of a streamed reply. A turn's end or a failure there is not what the agents do, but the fold must
 * not show a message twice for it either.
 */
const NOISE: Record<Exclude<EventKind, 'message' | 'message.delta' | 'message.user'>, (rnd: Rnd, id: string) => Data> = {
  'network.connection': (rnd) => pick(rnd, [
    connection('127.0.0.1', 'allowed', MODEL_REASON), connection('api.anthropic.com', 'allowed', MODEL_REASON),
    connection('127.0.0.1', 'denied', 'the model could not be reached'),
    connection('registry.npmjs.org', 'allowed', 'Allowed by the owner.'), connection('evil.example.org', 'denied', 'Denied by the owner.'),
  ]),
  'session.status': (rnd) => ({ status: pick(rnd, ['running', 'waiting_approval', 'running', 'idle', 'failed', 'interrupted']), mode: 'ask' }),
  usage: () => ({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.01 }),
  'tool.call': (rnd, id) => ({ toolCallId: id, tool: 'Bash', kind: 'execute', title: `run ${id}`, input: { command: 'ls' },
    parentToolCallId: rnd() < 0.3 ? 'parent' : null }),
  'tool.call.updated': (_, id) => ({ toolCallId: id, title: `run ${id} now`, input: { command: 'ls -l' } }),
  'tool.result': (_, id) => ({ toolCallId: id, content: 'ok', isError: false, truncated: false }),
  'task.status': (_, id) => ({ toolCallId: id, taskId: `task-${id}`, status: 'running', description: 'a task' }),
  'approval.requested': (rnd, id) => ({ approvalId: `ap-${id}`, toolCallId: id, tool: 'network', kind: 'fetch', title: 'files.example.org:443',
    input: {}, createdAt: '2026-11-28T00:00:00Z', parentToolCallId: rnd() < 0.3 ? 'parent' : null }),
  'approval.vote': (_, id) => ({ approvalId: `ap-${id}`, allowedBy: ['ann'], needed: 2 }),
  'approval.escalated': (_, id) => ({ approvalId: `ap-${id}`, to: 'owner' }),
  'approval.resolved': (_, id) => ({ approvalId: `ap-${id}`, status: 'decided', decision: 'allow', decidedBy: 'owner' }),
  thinking: () => ({ text: 'Thinking it over' }),
  plan: () => ({ entries: [{ content: 'Step', status: 'in_progress' }] }),
  'queue.updated': () => ({ messages: [], held: false }),
  'session.preparing': () => ({ phase: 'ready' }),
  'session.error': (rnd) => ({ message: 'trouble', code: rnd() < 0.5 ? 'AGENT_STALLED' : null }),
  'turn.changes': () => ({ turn: 1, filesChanged: 2 }),
  'turn.completed': () => ({ stopReason: 'end_turn', isError: false }),
  'history.imported': () => ({ skipped: 0 }),
};
/** Sessions per run: every one different, each the same on every run (a failure names its seed). */
const SEEDS = 200;

const NOISE_KINDS = Object.keys(NOISE) as (keyof typeof NOISE)[];

const isModel = (d: Data) => d.outcome === 'allowed' && d.reason === MODEL_REASON;

interface Session {
  log: ServerEvent[];
  /** The main thread's messages' final texts in order, each unique; and the subagents'. */
  replies: string[];
  subagent: string[];
  /** The seq of each reply's final form. */
  settledAt: Map<string, number>;
}

/** A session of a few turns: replies streamed in pieces (or not), with noise, and doubled noise, around and inside them. */
function session(rnd: Rnd): Session {
  const drafts: Draft[] = [];
  const replies: string[] = [];
  const subagent: string[] = [];
  const finals = new Map<number, string>();
  let ids = 0;
  const noise = (count: number) => {
    for (let n = 0; n < count; n++) {
      const kind = pick(rnd, NOISE_KINDS);
      const data = NOISE[kind](rnd, `t${rnd() < 0.5 ? ids : ++ids}`);
      drafts.push({ kind, data });
      // The same thing said twice (an agent that repeats itself): a new seq, the same payload.
      if (rnd() < 0.15) drafts.push({ kind, data });
    }
  };
  const turns = 1 + int(rnd, 3);
  for (let turn = 0; turn < turns; turn++) {
    drafts.push({ kind: 'message.user', data: { text: `Question ${turn}` } });
    noise(int(rnd, 3));
    for (let block = int(rnd, 4); block >= 0; block--) {
      const text = `Reply ${replies.length + subagent.length}: ${'some words '.repeat(1 + int(rnd, 4))}.`;
      if (rnd() < 0.15) {
        subagent.push(text);
        drafts.push({ kind: 'message', data: { text, parentToolCallId: 'parent' } });
      } else {
        replies.push(text);
        // Streamed in pieces, with anything between them and before the final form; or sent whole.
        if (rnd() < 0.8) {
          let at = 0;
          while (at < text.length) {
            const next = Math.min(text.length, at + 1 + int(rnd, 12));
            drafts.push({ kind: 'message.delta', data: { text: text.slice(at, next) } });
            at = next;
            if (rnd() < 0.3) noise(1 + int(rnd, 2));
          }
          noise(int(rnd, 4));
        }
        finals.set(drafts.length, text);
        drafts.push({ kind: 'message', data: { text } });
      }
      noise(int(rnd, 3));
    }
    drafts.push({ kind: 'turn.completed', data: { stopReason: 'end_turn', isError: false } });
    drafts.push({ kind: 'session.status', data: { status: 'idle', mode: 'ask' } });
  }
  const log = drafts.map((d, i): ServerEvent => ({ kind: d.kind, data: { sessionId: 's1', seq: i + 1, ...d.data } }));
  const settledAt = new Map([...finals].map(([index, text]) => [text, index + 1]));
  return { log, replies, subagent, settledAt };
}

/** The log as a phone receives it: in batches, with reconnects that replay from an older cursor and frames sent twice. */
function delivery(rnd: Rnd, log: readonly ServerEvent[]): ServerEvent[][] {
  const batches: ServerEvent[][] = [];
  for (let at = 0; at < log.length;) {
    const next = Math.min(log.length, at + 1 + int(rnd, 6));
    const batch = log.slice(at, next);
    // A frame again, after itself (the server's order is kept: it never sends a seq after a later one but as a replay).
    const twice = int(rnd, batch.length);
    if (rnd() < 0.2) batch.splice(twice + 1 + int(rnd, batch.length - twice), 0, batch[twice]!);
    if (rnd() < 0.15 && at > 0) batch.unshift(...log.slice(int(rnd, at), at));
    batches.push(batch);
    at = next;
  }
  return batches;
}

const said = (view: SessionView, text: string) => view.items.filter((i) => i.type === 'assistant' && i.text === text);
const typing = (view: SessionView) => view.items.filter((i) => i.type === 'assistant' && !i.done);
const lines = (view: SessionView) => view.items.flatMap((i) => (i.type === 'network' ? i.connections : []));

/** What must hold after each batch: a reply whose final form came is shown once and does not type; one at most types. */
function checkSoFar(view: SessionView, s: Session): void {
  // Plain checks (thousands of them per run): expect() only says what went wrong.
  for (const text of s.replies) {
    if (s.settledAt.get(text)! > view.lastSeq) continue;
    const shown = said(view, text);
    if (shown.length !== 1 || !shown.every((i) => i.type === 'assistant' && i.done)) expect({ at: view.lastSeq, shown }).toEqual({ at: view.lastSeq, shown: [{ text, done: true }] });
  }
  if (typing(view).length > 1) expect(typing(view)).toHaveLength(1);
}

function checkEnd(view: SessionView, s: Session): void {
  const main = view.items.filter((i): i is Extract<Item, { type: 'assistant' }> => i.type === 'assistant' && !i.parentToolCallId);
  expect(main.map((i) => i.text)).toEqual(s.replies);
  expect(view.items.filter((i) => i.type === 'assistant' && i.parentToolCallId).map((i) => 'text' in i && i.text)).toEqual(s.subagent);
  expect(typing(view)).toEqual([]);
  // The agent's own model traffic is no line; every other connection is, refused ones to the model among them.
  const connections = s.log.filter((e) => e.kind === 'network.connection');
  expect(lines(view)).toHaveLength(connections.filter((e) => !isModel(e.data)).length);
  const lastTurn = s.log.map((e) => e.kind).lastIndexOf('message.user');
  expect(view.modelConnections).toBe(s.log.slice(lastTurn).filter((e) => e.kind === 'network.connection' && isModel(e.data)).length);
}

describe('a streamed reply, folded from the log', () => {
  it('has noise of every kind the server sends but the reply and the turn it answers', () => {
    expect(new Set([...NOISE_KINDS, 'message', 'message.delta', 'message.user'])).toEqual(new Set(EVENT_KINDS()));
  });

  it('is shown once, stops typing with its final form, and a reload shows the same, whatever lands around it', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rnd = random(seed);
      const s = session(rnd);
      let live = emptySession();
      let window = emptyWindow();
      try {
        for (const batch of delivery(rnd, s.log)) {
          live = reduceSessionAll(live, batch);
          window = addLive(window, batch);
          checkSoFar(live, s);
        }
        checkEnd(live, s);
        const reloaded = reduceSessionAll(emptySession(), s.log);
        for (const k of Object.keys(live) as (keyof SessionView)[]) expect(reloaded[k], k).toEqual(live[k]);
        expect(window.view).toEqual(live);
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  });

  it("shows one reply when the agent's model connection ends between its deltas and its final form (issue #67)", () => {
    const events = ([
      ['message.user', { text: 'hi' }], ['message.delta', { text: 'Hel' }], ['message.delta', { text: 'lo' }],
      ['network.connection', connection('127.0.0.1', 'allowed', MODEL_REASON)], ['message', { text: 'Hello.' }],
      ['turn.completed', { stopReason: 'end_turn', isError: false }],
    ] as const).map(([kind, data], i): ServerEvent => ({ kind, data: { sessionId: 's1', seq: i + 1, ...data } }));
    const view = reduceSessionAll(emptySession(), events);
    expect(view.items.map((i) => i.type)).toEqual(['user', 'assistant']);
    expect(view.items[1]).toMatchObject({ text: 'Hello.', done: true });
    expect(view.modelConnections).toBe(1);
  });

  it('stops typing when the session fails mid-reply, and keeps what came', () => {
    const events = ([
      ['message.user', { text: 'hi' }], ['message.delta', { text: 'Half a' }], ['session.status', { status: 'failed', mode: 'ask', reason: 'exit 137' }],
    ] as const).map(([kind, data], i): ServerEvent => ({ kind, data: { sessionId: 's1', seq: i + 1, ...data } }));
    const view = reduceSessionAll(emptySession(), events);
    expect(view.items[1]).toMatchObject({ type: 'assistant', text: 'Half a', done: true });
  });
});
