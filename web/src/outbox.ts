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

function read(): OutboxMessage[] {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(kept) ? (kept as OutboxMessage[]) : [];
  } catch {
    return [];
  }
}

function write(all: OutboxMessage[]): void {
  if (all.length) localStorage.setItem(KEY, JSON.stringify(all));
  else localStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

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
}

/** Called whenever the outbox changes (on this page); returns the unsubscribe. */
export function onOutboxChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

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
    if (!(e instanceof ApiError) || e.status >= 500) return { message, outcome: 'unreachable' };
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
