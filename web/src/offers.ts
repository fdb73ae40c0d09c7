// What the server offers this device's person (docs/security.md, "Who may do what"): approvals, sessions and projects each
// carry `offers`, read from the one table the server itself asks. The app draws a control only where an offer says the
// server will accept it, and where it offers nothing says who can, in the server's words. No rule of who may do what
// lives here: these are pure readings of the offers.

import type { ApprovalOffers, SessionMode } from './api';
import { type ListedTeamState, type PendingRef } from './dashboard';
import { MODES } from './modes';

/** The call waits for this person: they may allow it, or answer it. Offers not known yet wait for no one. */
export const waitsFor = (offers?: ApprovalOffers | null): boolean => !!offers && (offers.allowOnce || offers.answer);

const oldestFirst = (a: PendingRef, b: PendingRef) => a.createdAt.localeCompare(b.createdAt);

/** The pending approvals that wait for the caller, and the rest (someone else's to decide, or not known yet), oldest first. */
export function splitPending(pending: Record<string, PendingRef>): { mine: PendingRef[]; others: PendingRef[] } {
  const all = Object.values(pending).sort(oldestFirst);
  return { mine: all.filter((p) => waitsFor(p.listed?.offers)), others: all.filter((p) => !waitsFor(p.listed?.offers)) };
}

export const WAITING_FOR_YOU = 'Waiting for you';
const WAITING = 'Waiting for a decision';

/** Who the oldest of these waits for, in the server's words ("Waiting for an approver or an owner"), else "Waiting for a decision". */
export const waitingForOthers = (others: readonly PendingRef[]): string =>
  others.map((p) => p.listed?.offers?.waitingFor).find((words) => !!words) ?? WAITING;

/**
 * What a session waiting on a decision waits for: "Waiting for you" when one of its calls does, else who its oldest call
 * waits for in the server's words, else (not known yet) "Waiting for a decision".
 */
export function waitingLabel(pending: Record<string, PendingRef>, sessionId: string): string {
  const { mine, others } = splitPending(pending);
  if (mine.some((p) => p.sessionId === sessionId)) return WAITING_FOR_YOU;
  return waitingForOthers(others.filter((p) => p.sessionId === sessionId));
}

/**
 * The board's pending approvals with what a fresh approvals list says of each. None is added or taken away: the events
 * do that (a list answered after an `approval.resolved` must not bring the approval back). Unchanged: the same object.
 */
export function withListedPending(pending: Record<string, PendingRef>, listed: readonly ListedTeamState[]): Record<string, PendingRef> {
  let next: Record<string, PendingRef> | undefined;
  for (const l of listed) {
    const ref = pending[l.id];
    if (!ref || ref.listed === l) continue;
    next ??= { ...pending };
    next[l.id] = { ...ref, listed: l };
  }
  return next ?? pending;
}

/**
 * A session's mode picker: the modes the caller may switch it to, in the usual order, and its current mode (shown, not
 * offered) when it is not one of them.
 */
export function modeChoices(current: SessionMode, offered: readonly SessionMode[]): { id: SessionMode; hint: string; offered: boolean }[] {
  return MODES.filter((m) => m.id === current || offered.includes(m.id)).map((m) => ({ ...m, offered: offered.includes(m.id) }));
}
