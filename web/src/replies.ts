// The agent's reply as it streams: `message.delta`s grow one message and its final form (`message`) settles it. The log
// interleaves other events with them: the sandbox's record of the agent's own model connection ends between the last
// delta and the final form (issue #67), a status, usage, a tool call or a card may land anywhere, a reconnect replays.
// None of that may split the message or show it twice, so the message being built is kept in the view (`replyAt`, an
// index into `items`, which are only ever added or replaced in place) from its first delta to its final form, never
// guessed from what happens to be the last item. Every agent PocketCoder runs sends a block's final form before its
// next block, so deltas after a tool call and before any final form are still the same block.

/** The agent's words in the transcript (one of events.ts's `Item`s). `parentToolCallId`: said by a subagent, shown under
 *  the call that started it. */
export interface AssistantItem { type: 'assistant'; seq: number; text: string; done: boolean; parentToolCallId?: string }

/** The stream's own part of a session's view. */
export interface ReplyState {
  /** The message the deltas build, until its final form or a new turn; -1 when none. */
  replyAt: number;
  /** Connections the agent made to its own model this turn: counted, not lines in the transcript. */
  modelConnections: number;
}

export const noReply = (): ReplyState => ({ replyAt: -1, modelConnections: 0 });

/** A session's view as far as the reply goes (events.ts's `SessionView`, which imports this file, not the other way). */
type View = ReplyState & { items: ({ type: string } | AssistantItem)[] };

const isAssistant = (item: { type: string } | undefined): item is AssistantItem => item?.type === 'assistant';

const reply = (view: View): AssistantItem | undefined => {
  const item = view.replyAt >= 0 ? view.items[view.replyAt] : undefined;
  return isAssistant(item) ? item : undefined;
};

/** A delta: grows the message being built (its cursor on again if a tool call had paused it), or starts one. */
export function growReply(view: View, text: string, seq: number): void {
  const built = reply(view);
  if (built) {
    view.items[view.replyAt] = { ...built, text: built.text + text, done: false };
    return;
  }
  view.items.push({ type: 'assistant', seq, text, done: false });
  view.replyAt = view.items.length - 1;
}

/** A main-thread `message`, the whole block: it replaces what the deltas built (a missed or doubled delta never shows). */
export function settleReply(view: View, text: string, seq: number): void {
  const built = reply(view);
  if (built) view.items[view.replyAt] = { ...built, text, done: true };
  else view.items.push({ type: 'assistant', seq, text, done: true });
  view.replyAt = -1;
}

/**
 * The agent does something else (a tool call, a card, the turn's or the session's end): the cursor goes, nothing is typing.
 * The message still waits for its final form, which folds into it when it comes.
 */
export function pauseReply(view: View): void {
  const built = reply(view);
  if (built && !built.done) view.items[view.replyAt] = { ...built, done: true };
}

/** A new turn (the owner's message): nothing before it waits for a final form any more, and the model count starts again. */
export function newTurn(view: View): void {
  pauseReply(view);
  view.replyAt = -1;
  view.modelConnections = 0;
}

/** The reason the server gives a connection to the agent's model (docs/api.md, `network.connection`). */
export const MODEL_REASON = "the agent's model";

/**
 * The agent's own model traffic, allowed as configured: every turn makes one or two, nobody decided them, and a line each
 * would tell the owner nothing. A refused one stays a line: the agent cannot reach its model, which they must see.
 */
export const isModelTraffic = (c: { outcome: string; reason: string }): boolean => c.outcome === 'allowed' && c.reason === MODEL_REASON;
