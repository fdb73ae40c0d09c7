// Live events: an EventSource that resumes exactly where it left off, and pure reducers that fold events
// into what the screens show. A replayed event (same seq) never changes anything twice.

import type { ApprovalOffers, ApprovalStatus, Decision, PlanEntry, QueuedMessage, SessionMode, SessionStatus, ToolKind } from './api';
import type { components } from './api.gen';
import { readEditContext, type EditContext } from './diff';
import { modeLabel } from './modes';
import { growReply, isModelTraffic, newTurn, noReply, pauseReply, settleReply, type AssistantItem, type ReplyState } from './replies';

// ---------------------------------------------------------------------------------------------------------
// Event shapes (docs/api.md, Events)

/** Every event's `data` as the server's catalogue documents it (web/openapi.json, `SessionEvents`). */
export type EventPayloads = components['schemas']['SessionEvents'];

/** Every kind the server sends, as its catalogue names them: `HANDLERS` has one handler for each (the type check says so). */
export type EventKind = keyof EventPayloads;

export interface EventBase { sessionId: string; seq: number }
export type AttachmentInfo = NonNullable<components['schemas']['UserMessageEvent']['attachments']>[number];
export interface ServerEvent { kind: string; data: EventBase & Record<string, unknown> }

export interface ApprovalView {
  /** The session that asked (a network call's "always for the domain" adds a rule to its project). */
  sessionId?: string;
  /** Its project, where the list said it (events do not: the session's project is then looked up on the board). */
  projectId?: string;
  approvalId: string; toolCallId: string; tool: string; kind: ToolKind; title: string; input: unknown; plan?: string | null;
  createdAt?: string; status: ApprovalStatus; decision?: Decision | null; decidedBy?: string | null; message?: string | null;
  updatedInput?: unknown;
  /** The title of `updatedInput` when the owner edited the call before allowing it: what the tool row shows, since it ran. */
  updatedTitle?: string | null;
  /** Whether the agent runs an edited input; only then does the card offer "Edit, then allow". */
  canEditInput?: boolean;
  /** What "Always allow" remembers with `tool`: the exact command or path as a glob, or `*` for the whole tool. */
  rulePattern?: string;
  /** The rule "Always allow" proposes (the server's reading): wider for a plain tool run (`git status *`), else `rulePattern`. */
  alwaysPattern?: string;
  /** For an edit: the file's lines around the text it replaces, read by the server when it asked (null when it could not). */
  editContext?: EditContext | null;
  /** The kind of call the project's policy routes (read, edit, shell, fetch, mcp, protected, question, budget, other). */
  risk?: string;
  /** What the server read in the call (piped-to-shell, deletes, force-push, privilege, credentials, outside-project,
   *  installs-packages, network): the card says them in words. */
  riskSigns?: string[];
  /** The least role that may decide it (approver or operator; owner once escalated or for a budget raise). */
  deciderRole?: string;
  /** How many different people must allow it: 2 under the two-person rule. */
  needed?: number;
  /** The people who have allowed it so far, while it waits for a second person. */
  allowedBy?: string[];
  /** Nobody eligible answered in time: it went to this role (the owners). */
  escalatedTo?: string | null;
  /** Asked by a subagent: the call that started it (Claude's Agent/Task call); the card names that subagent. */
  parentToolCallId?: string | null;
  /** The asking subagent's words (its call's title), where the transcript knows them. */
  askedBy?: string;
  /**
   * What this device's person may decide on it, as the approvals list said last (events carry none): undefined until
   * known, and then the card offers exactly these.
   */
  offers?: ApprovalOffers | null;
}
/** A connection out of the session's sandbox through PocketCoder's proxy, once it ended (docs/api.md, `network.connection`). */
export interface NetworkConnection {
  host: string; port: number; outcome: 'allowed' | 'denied' | 'failed'; reason: string; sent: number; received: number; milliseconds: number;
  /** The process that opened it, and the agent's command it ran under, where the server could tell. */
  by?: string; under?: string;
}
export interface ToolResultView { content: string; isError: boolean; truncated: boolean }
/** A subagent or background task a call started (`task.status`): its own state, whatever the call's result says. */
export interface TaskView { taskId: string; status: 'running' | 'completed' | 'failed' | 'stopped'; description?: string; summary?: string }
/** A turn's tokens and cost (`costUsd`), and the session's cost so far (`sessionCostUsd`). */
export interface Usage {
  inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; costUsd?: number | null; sessionCostUsd?: number | null;
}

export type Item =
  | { type: 'user'; seq: number; text: string; sentBy?: string; attachments?: AttachmentInfo[] }
  | AssistantItem
  | { type: 'thinking'; seq: number; text: string; parentToolCallId?: string }
  | { type: 'tool'; seq: number; toolCallId: string; tool: string; kind: ToolKind; title: string; input: unknown; result?: ToolResultView;
      /** Made by a subagent: the call that started it, under which this one is shown. */
      parentToolCallId?: string;
      /** The subagent or background task this call started, once the agent said so. */
      task?: TaskView;
      /** The call ended and the agent never said its input (tool.call.updated inputMissing): the row says so. */
      inputMissing?: boolean;
      /** The session ended (a restart, a failure, a stop) before this call's result came: it will never come. */
      interrupted?: boolean }
  | { type: 'approval'; seq: number; approval: ApprovalView }
  | { type: 'plan'; seq: number; entries: PlanEntry[] }
  | { type: 'error'; seq: number; message: string; stderrTail?: string }
  | { type: 'notice'; seq: number; text: string; tone: 'info' | 'bad' }
  /** This session was made by a rewind: what happened, in words, and (for whoever may steer) an Undo. */
  | { type: 'rewound'; seq: number; text: string }
  /** A finished turn that changed files in the project: one tap to review what it changed. */
  | { type: 'review'; seq: number; sessionId: string; turn: number; files: number }
  /** Connections out of the sandbox, those in a row gathered in one line. */
  | { type: 'network'; seq: number; connections: NetworkConnection[] };

/** `replyAt` and `modelConnections` (ReplyState): the reply being streamed, and the agent's model traffic counted (replies.ts). */
export interface SessionView extends ReplyState {
  lastSeq: number;
  status?: SessionStatus;
  mode?: SessionMode;
  items: Item[];
  usage?: Usage;
  /** Tokens over every turn; `usage` is the latest turn's report. */
  totalTokens: number;
  turnActive: boolean;
  /** The server reported the running turn as stalled (error code AGENT_STALLED) and nothing has happened since. */
  stalled: boolean;
  /** Messages waiting for the running turn to end, in the order they will start. */
  queue: QueuedMessage[];
  /** Nothing queued starts by itself (the last turn was stopped, or the agent came back with messages waiting). */
  queueHeld: boolean;
  /** The agent's process was stopped while a call waits for the owner; their decision resumes it. */
  paused: boolean;
  /** While the session's worktree is being made (status preparing): the phase, and how far git's checkout is when it says. */
  preparing: Preparing | null;
  /** While the session waits for an agent slot (status queued): its place in line, in the server's words; null otherwise. */
  inLine: string | null;
  /** Its worktree could not be made (session.error WORKTREE_FAILED): restarting it cannot help, a new session can. */
  worktreeFailed: boolean;
  /**
   * The seq at which its worktree was last made (session.preparing ready), 0 before. A seq rather than `preparing`: a batch
   * can make the worktree and start the agent at once, and what reloads the worktree must still see it happened.
   */
  worktreeMadeAt: number;
  /** The seq at which a turn last ended, 0 before: what the agent changed is worth loading again (a batch can hold a whole turn). */
  turnEndedAt: number;
  /**
   * The seq of the last "allow for this session" grant, 0 before: a grant changes who may steer the session (its offers),
   * which the app then asks the server again.
   */
  grantedAt: number;
}

/** A `session.preparing` event: `branch`, `checkout` (with `percent`, `done` and `total` once git reports them), `submodules`, `ready`. */
export interface Preparing { phase: string; percent?: number; done?: number; total?: number }

export const WORKTREE_FAILED_CODE = 'WORKTREE_FAILED';

export const STALLED_CODE = 'AGENT_STALLED';

/** The reason the server gives on a session.status event when it pauses a waiting agent (docs/api.md). */
export const PAUSED_REASON = 'agent paused to save memory';

export const emptySession = (): SessionView => ({
  lastSeq: 0, items: [], totalTokens: 0, turnActive: false, stalled: false, queue: [], queueHeld: false, paused: false, preparing: null, inLine: null, worktreeFailed: false,
  worktreeMadeAt: 0, turnEndedAt: 0, grantedAt: 0, ...noReply(),
});

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Folds one event into a session view (a new object; the old one is untouched). */
export function reduceSession(view: SessionView, event: ServerEvent): SessionView {
  return reduceSessionAll(view, [event]);
}

/** Folds many events at once: one copy of the view for the whole batch, however long the replay. */
export function reduceSessionAll(view: SessionView, events: readonly ServerEvent[]): SessionView {
  let next: SessionView | undefined;
  for (const event of events) {
    const seq = event.data.seq;
    // Seqs are gapless and ordered per session: anything at or below what we have is a replay.
    if (!(seq > (next ?? view).lastSeq)) continue;
    next ??= { ...view, items: view.items.slice() };
    apply(next, event.kind, event.data, seq);
    next.lastSeq = seq;
  }
  return next ?? view;
}

/** One event as the server documents it: its kind, and its payload (`sessionId` and `seq` with the kind's own fields). */
export type SessionEvent = { [K in EventKind]: { kind: K; data: EventBase & EventPayloads[K] } }[EventKind];

/** What folds one kind of event into a session's view: `d` typed as the server's catalogue says that kind's payload is. */
type Handler<K extends EventKind> = (view: SessionView, d: EventBase & EventPayloads[K], seq: number) => void;

const isKind = (kind: string): kind is EventKind => Object.hasOwn(HANDLERS, kind);

function apply(view: SessionView, kind: string, d: EventBase & Record<string, unknown>, seq: number): void {
  // Any word from the session (a status change aside) means the stall is over.
  if (kind !== 'session.status' && kind !== 'queue.updated' && kind !== 'session.preparing') view.stalled = kind === 'session.error' && str(d.code) === STALLED_CODE;
  // A kind this version does not know (a newer server): skipped, its seq kept. One the catalogue names is read as its
  // payload (the wire's one unchecked step: the handlers still read each field defensively).
  if (isKind(kind)) handle(view, { kind, data: d } as unknown as SessionEvent, seq);
}

/** The event's own handler (a correlated lookup: the payload's type goes with its kind). */
function handle<K extends EventKind>(view: SessionView, event: { kind: K; data: EventBase & EventPayloads[K] }, seq: number): void {
  (HANDLERS[event.kind] as Handler<K>)(view, event.data, seq);
}

/** The kinds the stream listens for (an EventSource needs each name): exactly those with a handler, which is every one. */
export const EVENT_KINDS = (): EventKind[] => Object.keys(HANDLERS) as EventKind[];

/** An approval's card changed by a later event about it (a vote, an escalation, its decision); nothing when it is not shown. */
function changeApproval(view: SessionView, approvalId: string, change: (approval: ApprovalView) => Partial<ApprovalView>): boolean {
  const items = view.items;
  const index = findLast(items, (i) => i.type === 'approval' && i.approval.approvalId === approvalId);
  if (index < 0) return false;
  const item = items[index] as Extract<Item, { type: 'approval' }>;
  items[index] = { ...item, approval: { ...item.approval, ...change(item.approval) } };
  return true;
}

/**
 * A handler for every kind the server sends, typed by the server's catalogue (web/openapi.json, `SessionEvents`): a kind
 * left out, or a field the catalogue does not have, fails the type check. The wire is still read defensively (`str`,
 * `num`): an older or newer server's payload may lack a field.
 */
export const HANDLERS: { [K in EventKind]: Handler<K> } = {
  'session.status': (view, d, seq) => {
    const items = view.items;
    const status = str(d.status) as SessionStatus;
    const mode = str(d.mode) as SessionMode;
    if (view.mode && mode && mode !== view.mode) items.push({ type: 'notice', seq, text: `Mode changed to ${modeLabel(mode)}`, tone: 'info' });
    if (status !== view.status && (status === 'failed' || status === 'interrupted' || status === 'stopped')) {
      const reason = str(d.reason);
      items.push({ type: 'notice', seq, text: `Session ${status}${reason ? `: ${reason}` : ''}`, tone: status === 'stopped' ? 'info' : 'bad' });
      // Calls still open will get no result: say so instead of spinning for ever.
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (item.type === 'tool' && !item.result && !item.interrupted) items[i] = { ...item, interrupted: true };
      }
    }
    if ((view.status === 'interrupted' || view.status === 'failed') && status && status !== 'interrupted' && status !== 'stopped' && status !== 'failed') {
      items.push({ type: 'notice', seq, text: 'Session resumed: the agent continues its conversation', tone: 'info' });
    }
    view.status = status || view.status;
    view.mode = mode || view.mode;
    // Once the agent is up (or the session ended), nothing is being prepared any more.
    if (view.status !== 'preparing' && view.status !== 'starting') view.preparing = null;
    view.paused = view.status === 'waiting_approval' && str(d.reason) === PAUSED_REASON;
    // In line for an agent slot: the server's words say its place ("starts when one of 4 running sessions finishes or pauses").
    view.inLine = view.status === 'queued' ? str(d.reason) || 'waiting for an agent slot' : null;
    if (status === 'idle' || status === 'failed' || status === 'stopped' || status === 'interrupted') {
      if (view.turnActive) view.turnEndedAt = seq;
      view.turnActive = false;
      pauseReply(view);
    }
    if (status === 'running' || status === 'waiting_approval') view.turnActive = true;
  },
  'message.user': (view, d, seq) => {
    newTurn(view);
    view.items.push({ type: 'user', seq, text: str(d.text), sentBy: str(d.sentBy) || undefined,
      attachments: Array.isArray(d.attachments) ? (d.attachments as AttachmentInfo[]) : undefined });
    view.turnActive = true;
  },
  'message.delta': (view, d, seq) => growReply(view, str(d.text), seq),
  message: (view, d, seq) => {
    const parentToolCallId = str(d.parentToolCallId);
    // A subagent's words stand under its call, apart from the reply being streamed to the owner.
    if (parentToolCallId) return void view.items.push({ type: 'assistant', seq, text: str(d.text), done: true, parentToolCallId });
    settleReply(view, str(d.text), seq);
  },
  thinking: (view, d, seq) => {
    view.items.push({ type: 'thinking', seq, text: str(d.text), parentToolCallId: str(d.parentToolCallId) || undefined });
  },
  'tool.call': (view, d, seq) => {
    const items = view.items;
    // A subagent works beside the main thread: its calls and cards do not pause the main reply.
    if (!d.parentToolCallId) pauseReply(view);
    const toolCallId = str(d.toolCallId);
    if (items.some((i) => i.type === 'tool' && i.toolCallId === toolCallId)) return;
    items.push({ type: 'tool', seq, toolCallId, tool: str(d.tool), kind: (str(d.kind) || 'other') as ToolKind, title: str(d.title), input: d.input,
      parentToolCallId: str(d.parentToolCallId) || undefined });
  },
  'task.status': (view, d) => {
    // The task's own state: a background subagent's call returns at once, and the subagent works on.
    const items = view.items;
    const index = findLast(items, (i) => i.type === 'tool' && i.toolCallId === str(d.toolCallId));
    if (index < 0) return;
    const item = items[index] as Extract<Item, { type: 'tool' }>;
    const status = str(d.status);
    const task: TaskView = {
      taskId: str(d.taskId) || item.task?.taskId || '',
      status: status === 'running' || status === 'completed' || status === 'stopped' ? status : 'failed',
      description: str(d.description) || item.task?.description, summary: str(d.summary) || item.task?.summary,
    };
    items[index] = { ...item, task };
  },
  'tool.call.updated': (view, d) => {
    // An agent announced the call before its input: the same row now shows what it is (never a second row).
    const items = view.items;
    const toolCallId = str(d.toolCallId);
    const index = findLast(items, (i) => i.type === 'tool' && i.toolCallId === toolCallId);
    if (index < 0) return;
    const item = items[index] as Extract<Item, { type: 'tool' }>;
    items[index] = { ...item, title: str(d.title) || item.title, input: d.input ?? item.input, inputMissing: d.inputMissing === true };
  },
  'tool.result': (view, d, seq) => {
    const items = view.items;
    const toolCallId = str(d.toolCallId);
    const result: ToolResultView = { content: str(d.content), isError: d.isError === true, truncated: d.truncated === true };
    const index = findLast(items, (i) => i.type === 'tool' && i.toolCallId === toolCallId);
    if (index >= 0) items[index] = { ...(items[index] as Extract<Item, { type: 'tool' }>), result };
    else items.push({ type: 'tool', seq, toolCallId, tool: 'tool', kind: 'other', title: 'Tool result', input: undefined, result });
  },
  plan: (view, d, seq) => {
    const items = view.items;
    const entries = Array.isArray(d.entries)
      ? (d.entries as unknown[]).map((e) => ({ content: str((e as PlanEntry)?.content), status: str((e as PlanEntry)?.status) }))
      : [];
    // The agent sends its whole list each time: update this turn's list in place rather than repeat it.
    const lastUser = findLast(items, (i) => i.type === 'user');
    const index = findLast(items, (i) => i.type === 'plan');
    if (index > lastUser) items[index] = { type: 'plan', seq: items[index]!.seq, entries };
    else items.push({ type: 'plan', seq, entries });
  },
  'approval.requested': (view, d, seq) => {
    const items = view.items;
    const approvalId = str(d.approvalId);
    if (items.some((i) => i.type === 'approval' && i.approval.approvalId === approvalId)) return;
    if (!d.parentToolCallId) pauseReply(view);
    items.push({
      type: 'approval', seq,
      approval: {
        sessionId: str(d.sessionId) || undefined, approvalId, toolCallId: str(d.toolCallId), tool: str(d.tool), kind: (str(d.kind) || 'other') as ToolKind, title: str(d.title),
        input: d.input, plan: typeof d.plan === 'string' ? d.plan : null, createdAt: str(d.createdAt), status: 'pending',
        canEditInput: d.canEditInput === true, rulePattern: typeof d.rulePattern === 'string' ? d.rulePattern : undefined,
        alwaysPattern: typeof d.alwaysPattern === 'string' ? d.alwaysPattern : undefined,
        editContext: readEditContext(d.editContext),
        risk: typeof d.risk === 'string' ? d.risk : undefined, deciderRole: typeof d.deciderRole === 'string' ? d.deciderRole : undefined,
        needed: typeof d.needed === 'number' ? d.needed : 1, allowedBy: [],
        riskSigns: Array.isArray(d.riskSigns) ? d.riskSigns.filter((x): x is string => typeof x === 'string') : [],
        parentToolCallId: str(d.parentToolCallId) || null,
      },
    });
  },
  'approval.vote': (view, d) => void changeApproval(view, str(d.approvalId), (approval) => ({
    allowedBy: Array.isArray(d.allowedBy) ? d.allowedBy.map(str) : [], needed: num(d.needed) || approval.needed,
  })),
  'approval.escalated': (view, d) => void changeApproval(view, str(d.approvalId), () => ({ escalatedTo: str(d.to) || 'owner' })),
  'approval.resolved': (view, d, seq) => {
    const shown = changeApproval(view, str(d.approvalId), () => ({
      status: (str(d.status) || 'decided') as ApprovalStatus, decision: (d.decision as Decision | null | undefined) ?? null,
      decidedBy: str(d.decidedBy) || null, message: typeof d.message === 'string' ? d.message : null, updatedInput: d.updatedInput,
      updatedTitle: typeof d.updatedTitle === 'string' ? d.updatedTitle : null,
    }));
    if (shown && d.decision === 'allow_session') view.grantedAt = seq;
  },
  usage: (view, d) => {
    const usage: Usage = {
      inputTokens: num(d.inputTokens), outputTokens: num(d.outputTokens), cacheReadTokens: num(d.cacheReadTokens),
      cacheWriteTokens: num(d.cacheWriteTokens), costUsd: typeof d.costUsd === 'number' ? d.costUsd : null,
      sessionCostUsd: typeof d.sessionCostUsd === 'number' ? d.sessionCostUsd : null,
    };
    // A turn that counted nothing (one stopped before the model answered) has no usage line: "0 in · 0 out" says nothing.
    const counted = usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens > 0 || !!usage.costUsd;
    view.usage = counted ? usage : undefined;
    view.totalTokens += usage.inputTokens + usage.outputTokens;
  },
  'turn.completed': (view, d, seq) => {
    pauseReply(view);
    view.turnActive = false;
    view.turnEndedAt = seq;
    // A turn someone stopped is stopped, not a failure (an older server sent it as an error).
    if (str(d.stopReason) === 'cancelled') view.items.push({ type: 'notice', seq, text: 'Turn stopped', tone: 'info' });
    else if (d.isError === true) view.items.push({ type: 'notice', seq, text: `The turn ended with an error${d.result ? `: ${str(d.result)}` : ''}`, tone: 'bad' });
  },
  'history.imported': (view, d, seq) => {
    const text = carriedOverText(d);
    view.items.push(str(d.source) === 'rewind' ? { type: 'rewound', seq, text } : { type: 'notice', seq, text, tone: 'info' });
  },
  'turn.changes': (view, d, seq) => {
    if (typeof d.turn === 'number' && typeof d.filesChanged === 'number' && d.filesChanged > 0) {
      view.items.push({ type: 'review', seq, sessionId: str(d.sessionId), turn: d.turn, files: d.filesChanged });
    }
  },
  'queue.updated': (view, d) => {
    // The whole queue each time: what every device shows is the server's, never a merge of guesses.
    view.queue = Array.isArray(d.messages) ? (d.messages as QueuedMessage[]) : [];
    view.queueHeld = d.held === true && view.queue.length > 0;
  },
  'session.preparing': (view, d, seq) => {
    const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    const percent = count(d.percent);
    view.preparing = {
      phase: str(d.phase) || 'branch', percent: percent === undefined ? undefined : Math.min(100, percent), done: count(d.done), total: count(d.total),
    };
    if (view.preparing.phase === 'ready') view.worktreeMadeAt = seq;
  },
  'network.connection': (view, d, seq) => {
    const items = view.items;
    const connection: NetworkConnection = {
      host: str(d.host), port: num(d.port), outcome: d.outcome === 'allowed' || d.outcome === 'failed' ? d.outcome : 'denied', reason: str(d.reason),
      sent: num(d.sent), received: num(d.received), milliseconds: num(d.milliseconds),
      by: typeof d.by === 'string' ? d.by : undefined, under: typeof d.under === 'string' ? d.under : undefined,
    };
    // The agent's own model traffic is a count for the turn (the usage line), not a line: see replies.ts.
    if (isModelTraffic(connection)) return void view.modelConnections++;
    // Connections in a row (a package manager opens dozens) are one line in the transcript.
    const last = items[items.length - 1];
    if (last?.type === 'network') items[items.length - 1] = { ...last, connections: [...last.connections, connection] };
    else items.push({ type: 'network', seq, connections: [connection] });
  },
  'session.error': (view, d, seq) => {
    if (str(d.code) === WORKTREE_FAILED_CODE) {
      view.worktreeFailed = true;
      view.preparing = null;
    }
    view.items.push({ type: 'error', seq, message: str(d.message), stderrTail: typeof d.stderrTail === 'string' ? d.stderrTail : undefined });
  },
};

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

// ---------------------------------------------------------------------------------------------------------
// The stream

export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
}

export interface StreamEnvironment {
  open(url: string): EventSourceLike;
  /** `online` on window, `visibilitychange` on document; returns an unsubscribe. */
  onWake(listener: () => void): () => void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type StreamState = 'connecting' | 'open' | 'waiting';

export interface StreamOptions {
  url: string;
  /** Start after this id; events at or below it are never delivered. */
  after?: number;
  /** With no cursor yet, ask for only new events (`?tail=true`) instead of the whole history. */
  tail?: boolean;
  onEvents(events: ServerEvent[], lastId: number): void;
  onState?(state: StreamState): void;
  /** Each (re)connection: a dashboard refreshes its snapshot here. */
  onOpen?(): void;
  /** Events sent without an id (never replayed, no cursor): handed over as they come, by kind. */
  ephemeral?: Record<string, (data: Record<string, unknown>) => void>;
  env?: StreamEnvironment;
}

/** A connection failure is a bare Event; a frame the server sent is a MessageEvent with its data. */
const isServerSent = (event: Event): event is MessageEvent => typeof (event as Partial<MessageEvent>).data === 'string';

export const browserEnvironment = (): StreamEnvironment => ({
  open: (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike,
  onWake: (listener) => {
    const visible = () => { if (document.visibilityState === 'visible') listener(); };
    window.addEventListener('online', listener);
    document.addEventListener('visibilitychange', visible);
    return () => {
      window.removeEventListener('online', listener);
      document.removeEventListener('visibilitychange', visible);
    };
  },
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
});

/**
 * An EventSource that remembers the last id it saw and, when the connection fails, on `online` and when the page
 * becomes visible again, reconnects with `?after=<that id>`: the server sends exactly the later events.
 * Events that arrive within a frame are handed over as one batch.
 */
export class ResumableStream {
  private source?: EventSourceLike;
  private cursor: number;
  private retry?: unknown;
  private flushScheduled = false;
  private batch: ServerEvent[] = [];
  private failures = 0;
  private closed = false;
  private readonly env: StreamEnvironment;
  private readonly unwake: () => void;

  constructor(private readonly options: StreamOptions) {
    this.env = options.env ?? browserEnvironment();
    this.cursor = options.after ?? 0;
    this.unwake = this.env.onWake(() => this.reconnect());
    this.connect();
  }

  /** The last id received: where the next connection resumes. */
  get lastId(): number {
    return this.cursor;
  }

  /** Drops the current connection (it may be silently dead after sleep) and resumes from the cursor. */
  reconnect(): void {
    if (this.closed) return;
    this.failures = 0;
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.unwake();
    if (this.retry !== undefined) this.env.clearTimeout(this.retry);
    this.source?.close();
    this.source = undefined;
  }

  urlFor(): string {
    const sep = this.options.url.includes('?') ? '&' : '?';
    if (this.cursor > 0 || !this.options.tail) return `${this.options.url}${sep}after=${this.cursor}`;
    return `${this.options.url}${sep}tail=true`;
  }

  private connect(): void {
    if (this.retry !== undefined) {
      this.env.clearTimeout(this.retry);
      this.retry = undefined;
    }
    this.source?.close();
    this.options.onState?.('connecting');
    const source = this.env.open(this.urlFor());
    this.source = source;
    source.onopen = () => {
      if (source !== this.source) return;
      this.failures = 0;
      this.options.onState?.('open');
      this.options.onOpen?.();
    };
    source.onerror = (event) => {
      if (source !== this.source) return;
      if (isServerSent(event)) {
        // A frame the server named `error` (an older server's agent errors, now `session.error`) reaches this handler
        // too: it is an event to show and step past, not a lost connection. Taken for one, the stream would reconnect
        // at that very event for ever.
        this.receive('session.error', event);
        return;
      }
      // We reconnect ourselves, with our own cursor in the URL, rather than trust the browser's retry.
      source.close();
      this.source = undefined;
      this.options.onState?.('waiting');
      const delay = Math.min(15_000, 1_000 * 2 ** Math.min(this.failures, 4));
      this.failures++;
      this.retry = this.env.setTimeout(() => {
        this.retry = undefined;
        if (!this.closed) this.connect();
      }, delay);
    };
    for (const kind of EVENT_KINDS()) {
      source.addEventListener(kind, (message) => {
        if (source !== this.source) return;
        this.receive(kind, message);
      });
    }
    for (const [kind, handle] of Object.entries(this.options.ephemeral ?? {})) {
      source.addEventListener(kind, (message) => {
        if (source !== this.source) return;
        try {
          handle(JSON.parse(String(message.data)) as Record<string, unknown>);
        } catch {
          // A malformed ephemeral event is dropped: it carries nothing a later snapshot would not.
        }
      });
    }
  }

  private receive(kind: EventKind, message: MessageEvent): void {
    const id = Number(message.lastEventId);
    if (!Number.isFinite(id) || id <= this.cursor) return; // already delivered
    let data: ServerEvent['data'];
    try {
      data = JSON.parse(String(message.data)) as ServerEvent['data'];
    } catch {
      return;
    }
    this.cursor = id;
    this.batch.push({ kind, data });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // A replay arrives as hundreds of events in a row: fold and render them once per frame, not once each.
      this.env.setTimeout(() => this.flush(), 16);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0 && !this.closed) this.options.onEvents(batch, this.cursor);
  }
}

/**
 * What a `history.imported` says happened, in plain words: a conversation carried over from a terminal, or this session made by
 * a rewind, a fork or an undone rewind (`turn`: the turn it went back to before; for an undo, the turn it goes on with).
 */
export function carriedOverText(d: { source?: string; entries?: number; skipped?: number; turn?: number | null }): string {
  const turn = typeof d.turn === 'number' ? d.turn : undefined;
  const entries = typeof d.entries === 'number' ? d.entries : 0;
  const before = turn ? ` before turn ${turn}` : '';
  const conversation = entries > 0 ? `The conversation above is carried over${turn && turn > 1 ? ` up to turn ${turn - 1}` : ''}.`
    : turn && turn > 1 ? 'The agent starts a new conversation, told what the earlier turns said.' : 'The conversation starts afresh.';
  switch (str(d.source)) {
    case 'rewind':
      return `Rewound to${before || ' an earlier turn'}: the project's files are back as they were then, except any you chose to keep. ${conversation}`;
    case 'fork':
      return `Forked from${before || ' an earlier turn'}: this session works on a branch of its own, its files as they were then; the original is untouched. ${conversation}`;
    case 'undo':
      return `The rewind was undone: the project's files are back exactly as they were before it. ${entries > 0 ? 'The conversation above goes on from where it was.' : 'The agent is told what the earlier turns said.'}`;
    default: {
      const skipped = typeof d.skipped === 'number' && d.skipped > 0 ? ` (the ${d.skipped} oldest left out)` : '';
      return `Above: the conversation so far in the terminal${skipped}. From here on, it goes on in PocketCoder.`;
    }
  }
}
