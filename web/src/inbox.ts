// The inbox (issue #51): every call, question and budget decision pending in any session, read from the dashboard's pending
// approvals and what the approvals list said of each (`listed`: the whole approval with this person's offers, from the one
// authority the server decides with). Pure readings, no rule of who may do what: a card waits for this person exactly when
// the server offers them to allow or answer it (`waitsFor`).

import type { Approval, Session } from './api';
import type { ApprovalView } from './events';
import type { PendingRef } from './dashboard';
import { waitsFor } from './offers';

/**
 * A pending call as the inbox shows it: the approval as listed, whether it waits for this person, and for a call of another
 * machine the app added, that machine's id (machines.ts): it is decided there.
 */
export interface InboxEntry { approval: Approval; mine: boolean; machine?: string }

/** The listed approval behind a pending ref, once the approvals list has said it whole (an event alone says too little). */
const whole = (ref: PendingRef): Approval | undefined => {
  const listed = ref.listed as Partial<Approval> | undefined;
  return listed && typeof listed.tool === 'string' && typeof listed.sessionId === 'string' ? (listed as Approval) : undefined;
};

/** "Needs you" first, then what waits on someone else; each oldest first (the agent that has waited longest leads). */
export function inboxEntries(pending: Record<string, PendingRef>): { mine: InboxEntry[]; others: InboxEntry[] } {
  const all = Object.values(pending)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .flatMap((ref) => {
      const approval = whole(ref);
      return approval ? [{ approval, mine: waitsFor(approval.offers) }] : [];
    });
  return { mine: all.filter((e) => e.mine), others: all.filter((e) => !e.mine) };
}

/**
 * One inbox across machines: this machine's pending calls and each added machine's, each tagged with its machine, "needs
 * you" first and then the rest, each oldest first across all machines. A machine that is offline adds what it last said.
 */
export function mergedInbox(home: Record<string, PendingRef>, machines: readonly { id: string; pending: Record<string, PendingRef> }[]):
  { mine: InboxEntry[]; others: InboxEntry[] } {
  const all = [{ id: undefined as string | undefined, pending: home }, ...machines].map(({ id, pending }) => {
    const { mine, others } = inboxEntries(pending);
    const tag = (e: InboxEntry): InboxEntry => (id === undefined ? e : { ...e, machine: id });
    return { mine: mine.map(tag), others: others.map(tag) };
  });
  const oldestFirst = (a: InboxEntry, b: InboxEntry) => a.approval.createdAt.localeCompare(b.approval.createdAt);
  return { mine: all.flatMap((m) => m.mine).sort(oldestFirst), others: all.flatMap((m) => m.others).sort(oldestFirst) };
}

/** Whatever stands out in a call (the server's risk signs): such a call is decided with a button, never a swipe or a batch. */
export const isRisky = (a: Pick<Approval, 'riskSigns'>): boolean => (a.riskSigns?.length ?? 0) > 0;

/**
 * A call that can be decided together with others like it: a plain tool call (no risk sign, no plan, not a question or a
 * budget) this person may both allow once and deny, as one person's allow settles it (a two-person call is its own).
 */
export function batchable(a: Approval): boolean {
  const o = a.offers;
  return !!o && o.allowOnce && o.deny && !isRisky(a) && !a.plan && a.kind !== 'question' && a.risk !== 'budget' && a.needed <= 1;
}

/** What makes calls "similar": the same tool of the same kind (Bash commands with Bash commands, edits with edits). */
export const similarKey = (a: Pick<Approval, 'tool' | 'kind'>): string => `${a.kind}:${a.tool}`;

/** The calls that may be selected, by what they are similar to: only a kind with at least two such calls is worth a batch. */
export function similarGroups(entries: readonly InboxEntry[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { approval } of entries) {
    if (!batchable(approval)) continue;
    const key = similarKey(approval);
    groups.set(key, [...(groups.get(key) ?? []), approval.id]);
  }
  for (const [key, ids] of groups) if (ids.length < 2) groups.delete(key);
  return groups;
}

/**
 * What one more tap on a call's "Select" makes of the selection: selecting takes it into the selection only when it is like
 * the ones selected (a batch is of one kind), else starts over with it; tapping a selected one lets it go.
 */
export function toggleSelected(selected: readonly string[], id: string, entries: readonly InboxEntry[]): string[] {
  if (selected.includes(id)) return selected.filter((s) => s !== id);
  const key = (which: string) => entries.find((e) => e.approval.id === which)?.approval;
  const picked = key(id);
  const first = selected[0] ? key(selected[0]) : undefined;
  return picked && first && similarKey(first) === similarKey(picked) ? [...selected, id] : [id];
}

/**
 * Where a released swipe lands: past `threshold` of the card's width to the right allows once, to the left denies;
 * a risky call (or one this person may not decide that way) is never decided by a swipe: it says to use the buttons.
 */
export function swipeOutcome(dx: number, width: number, a: Approval, threshold = 0.4): 'allow_once' | 'deny' | 'button' | null {
  if (width <= 0 || Math.abs(dx) < width * threshold) return null;
  if (isRisky(a) || !swipeable(a)) return 'button';
  if (dx > 0) return a.offers?.allowOnce ? 'allow_once' : 'button';
  return a.offers?.deny ? 'deny' : 'button';
}

/** A call a swipe may decide at all: a plain tool call or connection (a question is answered, a plan or a budget read). */
export const swipeable = (a: Approval): boolean => a.kind !== 'question' && !a.plan && a.risk !== 'budget';

/** Sessions with a call waiting for this person first (the one waiting longest leading), then the rest as given. */
export function needsYouFirst(sessions: readonly Session[], pending: Record<string, PendingRef>): Session[] {
  const since = new Map<string, string>();
  for (const ref of Object.values(pending)) {
    if (!waitsFor(ref.listed?.offers)) continue;
    const at = since.get(ref.sessionId);
    if (!at || ref.createdAt < at) since.set(ref.sessionId, ref.createdAt);
  }
  const waiting = sessions.filter((s) => since.has(s.id)).sort((a, b) => since.get(a.id)!.localeCompare(since.get(b.id)!));
  return [...waiting, ...sessions.filter((s) => !since.has(s.id))];
}

/** The approval as the card draws it (the shape the session's events give it). */
export function viewOf(a: Approval): ApprovalView {
  return {
    sessionId: a.sessionId, projectId: a.projectId, approvalId: a.id, toolCallId: a.toolCallId, tool: a.tool, kind: a.kind, title: a.title, input: a.input,
    plan: a.plan, createdAt: a.createdAt, status: a.status, decision: a.decision, decidedBy: a.decidedBy, message: a.message,
    canEditInput: a.canEditInput, rulePattern: a.rulePattern, alwaysPattern: a.alwaysPattern ?? undefined, risk: a.risk, riskSigns: a.riskSigns ?? [], deciderRole: a.deciderRole,
    needed: a.needed, allowedBy: a.allowedBy, offers: a.offers ?? undefined,
    parentToolCallId: a.parentToolCallId ?? undefined, askedBy: a.askedBy ?? undefined,
  };
}
