// Messages the owner sent that have not reached the machine yet: typed offline, or sent as the connection dropped. Each is
// kept on this phone (localStorage: it survives a reload or the app closed) with a key of its own, shown as "waiting for
// the connection", and sent when the machine can be reached again. The server takes a key once (SendMessageRequest
// clientId), so a message whose answer was lost, or sent from two tabs, reaches the agent exactly once. Wiped when this
// phone is signed out, as its transcripts are.

import { ApiError, describeError } from './api';

export interface OutboxMessage {
  /** The message's key: the same on every try. */
  clientId: string;
  sessionId: string;
  text: string;
  /** When it was written (ms since the epoch): sent oldest first. */
  at: number;
}

const KEY = 'pocketcoder-outbox';
const listeners = new Set<() => void>();

/** A list kept in localStorage under `key` (empty when missing or unreadable). */
function readKept<T>(key: string): T[] {
  try {
    const kept = JSON.parse(localStorage.getItem(key) ?? '[]') as unknown;
    return Array.isArray(kept) ? (kept as T[]) : [];
  } catch {
    return [];
  }
}

/** Keeps `all` under `key` (removed when empty) and tells whoever listens. */
function writeKept<T>(key: string, all: T[]): void {
  if (all.length) localStorage.setItem(key, JSON.stringify(all));
  else localStorage.removeItem(key);
  for (const listener of listeners) listener();
}

const read = (): OutboxMessage[] => readKept<OutboxMessage>(KEY);

const write = (all: OutboxMessage[]): void => writeKept(KEY, all);

/** The session's messages still to send, oldest first. */
export const waiting = (sessionId: string): OutboxMessage[] => read().filter((m) => m.sessionId === sessionId).sort((a, b) => a.at - b.at);

/** Keeps a message until it is sent; its key is made here, once. */
export function keep(sessionId: string, text: string, now = Date.now()): OutboxMessage {
  const message = { clientId: crypto.randomUUID(), sessionId, text, at: now };
  write([...read(), message]);
  return message;
}

export function drop(clientId: string): void {
  write(read().filter((m) => m.clientId !== clientId));
}

export function clearOutbox(): void {
  write([]);
  writeDecisions([]);
}

/** Called whenever the outbox changes (on this page); returns the unsubscribe. */
export function onOutboxChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Whether a failure means "not there" (kept, tried again later) rather than the machine's answer. */
export const unreachable = (e: unknown): boolean => !(e instanceof ApiError) || e.status >= 500;

/** What became of a message the outbox tried to send. */
export type Sent = { message: OutboxMessage; outcome: 'sent' } | { message: OutboxMessage; outcome: 'refused'; problem: string } | { message: OutboxMessage; outcome: 'unreachable' };

/**
 * Tries one kept message: sent (or taken before: the server knows its key) leaves the outbox; refused by the server (the
 * session ended, the person may no longer steer it) leaves it too, and is offered back to the owner with the reason;
 * unreachable stays, for the next time the connection returns.
 */
export async function attempt(message: OutboxMessage, send: (m: OutboxMessage) => Promise<unknown>): Promise<Sent> {
  try {
    await send(message);
    drop(message.clientId);
    return { message, outcome: 'sent' };
  } catch (e) {
    if (unreachable(e)) return { message, outcome: 'unreachable' };
    drop(message.clientId);
    return { message, outcome: 'refused', problem: describeError(e) };
  }
}

// Sessions whose outbox this page is sending now: a second flush (the connection flapping) waits for the next return.
const flushing = new Set<string>();

/** Sends the session's kept messages in order; stops at the first that cannot reach the machine (order is kept). */
export async function flush(sessionId: string, send: (m: OutboxMessage) => Promise<unknown>): Promise<Sent[]> {
  if (flushing.has(sessionId)) return [];
  flushing.add(sessionId);
  const results: Sent[] = [];
  try {
    for (const message of waiting(sessionId)) {
      const result = await attempt(message, send);
      results.push(result);
      if (result.outcome === 'unreachable') break;
    }
  } finally {
    flushing.delete(sessionId);
  }
  return results;
}

// Decisions the owner took while the machine could not be reached (#51): Allow once or Deny on a call's card, tapped
// offline or sent as the connection dropped. Each is kept on this phone with its key (the server's DecisionRequest
// clientId), the card shows it as taken and "waiting for the connection" (and lets the owner take it back), and it goes by
// itself when the machine answers again: through the same gatekeeper, checked as of the moment it arrives, decided once
// however often it is sent. One the machine refuses on arrival (decided by someone else meanwhile, withdrawn, the session
// ended, no longer theirs to decide) stays here with the reason in plain words until the owner has read it.

export type KeptVerdict = 'allow_once' | 'deny';

export interface KeptDecision {
  /** The decision's key: the same on every try. */
  clientId: string;
  approvalId: string;
  sessionId: string;
  /** The added machine the call came from (machines.ts); null: this app's own machine. */
  machine: string | null;
  decision: KeptVerdict;
  /** A deny's words for the agent. */
  message?: string;
  /** What the call was (its title or tool), for the note when it cannot be sent. */
  title: string;
  at: number;
  /** Set when the machine refused it on arrival: why, in the owner's words. */
  refused?: string;
  /**
   * Sent once already with no answer back: it may have reached the machine, so it can no longer be taken back (only sent
   * again with its key, which decides nothing twice).
   */
  tried?: boolean;
  /** This page is sending it now: it can no longer be taken back. */
  sending?: boolean;
}

const DECISIONS_KEY = 'pocketcoder-outbox-decisions';

const readDecisions = (): KeptDecision[] => readKept<KeptDecision>(DECISIONS_KEY);

const writeDecisions = (all: KeptDecision[]): void => writeKept(DECISIONS_KEY, all);

function markDecision(clientId: string, change: Partial<KeptDecision>): void {
  writeDecisions(readDecisions().map((d) => (d.clientId === clientId ? { ...d, ...change } : d)));
}

// A page that closed while sending left its mark: the next round sends it again with its key (once either way), and
// it may well have arrived, so it stays one that cannot be taken back.
if (typeof localStorage !== 'undefined' && readDecisions().some((d) => d.sending)) {
  writeDecisions(readDecisions().map(({ sending, ...d }) => (sending ? { ...d, tried: true } : d)));
}

/** Kept decisions, oldest first: of one machine (null: this one), and of one session when asked. */
export const keptDecisions = (machine?: string | null, sessionId?: string): KeptDecision[] => readDecisions()
  .filter((d) => (machine === undefined || d.machine === machine) && (sessionId === undefined || d.sessionId === sessionId))
  .sort((a, b) => a.at - b.at);

/** The decision kept for this call (waiting, or refused and not yet read), if any. */
export const keptDecision = (approvalId: string, machine: string | null): KeptDecision | undefined =>
  readDecisions().find((d) => d.approvalId === approvalId && d.machine === machine);

/** Keeps a decision until it is sent (its key made here unless the failed try already had one); one per call. */
export function keepDecision(d: Omit<KeptDecision, 'clientId' | 'at' | 'refused' | 'sending'> & { clientId?: string }, now = Date.now()): KeptDecision {
  const kept: KeptDecision = { ...d, clientId: d.clientId ?? crypto.randomUUID(), at: now };
  writeDecisions([...readDecisions().filter((k) => !(k.approvalId === d.approvalId && k.machine === d.machine)), kept]);
  return kept;
}

/** Takes a kept decision back (the owner changed their mind while it waited), or clears a refusal they have read. */
export function dropDecision(clientId: string): void {
  writeDecisions(readDecisions().filter((d) => d.clientId !== clientId));
}

const markRefused = (clientId: string, why: string): void => markDecision(clientId, { refused: why, sending: undefined });

/** Where a call stands when a kept decision of it was refused, as the machine says it (GET /api/approvals/{id}). */
export interface CallNow {
  status: string;
  decision?: string | null;
  decidedBy?: string | null;
}

/**
 * Why a kept decision was not taken, in plain words: "Ada already allowed it", "the session ended"; else the machine's
 * own words. `call` is the call as the machine has it now (null: gone), `sessionEnded` whether its session has ended.
 */
export function whyNotTaken(e: unknown, call: CallNow | null, sessionEnded: boolean): string {
  if (e instanceof ApiError && (e.code === 'APPROVAL_NOT_FOUND' || call === null)) return 'the call is gone (its session was deleted)';
  if (call?.status === 'decided') {
    const verb = call.decision === 'deny' ? 'denied' : 'allowed';
    if (call.decidedBy === 'timeout') return 'the call timed out before it arrived';
    if (!call.decidedBy || call.decidedBy === 'policy' || call.decidedBy === 'system') return `it was already ${verb}`;
    return `${call.decidedBy} already ${verb} it`;
  }
  if (call?.status === 'cancelled' || call?.status === 'interrupted') return sessionEnded ? 'the session ended' : 'the agent withdrew the call';
  return describeError(e);
}

/** What became of a kept decision the phone tried to send. */
export type DecisionSent = { kept: KeptDecision; outcome: 'sent' | 'unreachable' } | { kept: KeptDecision; outcome: 'refused'; why: string };

// Machines whose kept decisions this page is sending now: a second send (the connection flapping) waits for the next return.
const sendingDecisions = new Set<string>();

/**
 * Sends one machine's kept decisions, oldest first, each with its key: taken (or taken before: the machine knows the key)
 * leaves the outbox; refused stays, marked with `explain`'s words, until read; unreachable stops the round (tried again
 * when the machine answers again).
 */
export async function sendKeptDecisions(machine: string | null, send: (d: KeptDecision) => Promise<unknown>,
  explain: (d: KeptDecision, e: unknown) => Promise<string>): Promise<DecisionSent[]> {
  const which = machine ?? '';
  if (sendingDecisions.has(which)) return [];
  sendingDecisions.add(which);
  const results: DecisionSent[] = [];
  try {
    for (const { clientId } of keptDecisions(machine).filter((d) => !d.refused)) {
      // Read again just before it goes: one taken back meanwhile (on this card, or in another tab) is not sent.
      const kept = readDecisions().find((d) => d.clientId === clientId && !d.refused);
      if (!kept) continue;
      markDecision(clientId, { sending: true });
      try {
        await send(kept);
        dropDecision(kept.clientId);
        results.push({ kept, outcome: 'sent' });
      } catch (e) {
        if (unreachable(e)) {
          markDecision(clientId, { sending: undefined, tried: true });
          results.push({ kept, outcome: 'unreachable' });
          break;
        }
        const why = await explain(kept, e).catch(() => describeError(e));
        markRefused(kept.clientId, why);
        results.push({ kept, outcome: 'refused', why });
      }
    }
  } finally {
    sendingDecisions.delete(which);
  }
  return results;
}
