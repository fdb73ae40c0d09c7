import { describe, expect, it } from 'vitest';
import type { ApprovalOffers } from './api';
import type { ListedTeamState, PendingRef } from './dashboard';
import { modeChoices, splitPending, waitingForOthers, waitingLabel, waitsFor, withListedPending } from './offers';

const NONE: ApprovalOffers = { allowOnce: false, allowSession: false, allowAlways: false, edit: false, deny: false, answer: false, waitingFor: 'Waiting for an approver or an owner' };
const ALLOW: ApprovalOffers = { ...NONE, allowOnce: true, deny: true, waitingFor: null };
const ANSWER: ApprovalOffers = { ...NONE, answer: true, deny: true, waitingFor: null };

const listed = (id: string, offers?: ApprovalOffers): ListedTeamState => ({ id, risk: 'shell', deciderRole: 'approver', needed: 1, allowedBy: [], offers });
const ref = (id: string, sessionId: string, createdAt: string, offers?: ApprovalOffers | 'unknown'): PendingRef =>
  ({ approvalId: id, sessionId, createdAt, listed: offers === 'unknown' ? undefined : listed(id, offers) });
const board = (...refs: PendingRef[]): Record<string, PendingRef> => Object.fromEntries(refs.map((r) => [r.approvalId, r]));

describe('waitsFor', () => {
  it('is a call this person may allow or answer, and no call while the server has not said', () => {
    expect(waitsFor(ALLOW)).toBe(true);
    expect(waitsFor(ANSWER)).toBe(true);
    expect(waitsFor(NONE)).toBe(false);
    // Someone who allowed a two-person call already may still deny it: it no longer waits for them.
    expect(waitsFor({ ...NONE, deny: true, waitingFor: 'Waiting for another person\'s allow' })).toBe(false);
    expect(waitsFor(undefined)).toBe(false);
    expect(waitsFor(null)).toBe(false);
  });
});

describe('the needs-you count', () => {
  const pending = board(ref('b', 's1', '2026-01-02', NONE), ref('a', 's2', '2026-01-03', ALLOW), ref('c', 's1', '2026-01-01', 'unknown'), ref('d', 's3', '2026-01-04', ANSWER));

  it('counts only the calls the server offers this person to allow or answer, oldest first', () => {
    const { mine, others } = splitPending(pending);
    expect(mine.map((p) => p.approvalId)).toEqual(['a', 'd']);
    expect(others.map((p) => p.approvalId)).toEqual(['c', 'b']);
    expect(splitPending({})).toEqual({ mine: [], others: [] });
  });

  it('says "Waiting for you" only on a session with such a call, else whom it waits for in the server\'s words', () => {
    expect(waitingLabel(pending, 's2')).toBe('Waiting for you');
    expect(waitingLabel(pending, 's3')).toBe('Waiting for you');
    // The oldest call not known yet, the next one's words.
    expect(waitingLabel(pending, 's1')).toBe('Waiting for an approver or an owner');
    expect(waitingLabel(board(ref('c', 's1', '1', 'unknown')), 's1')).toBe('Waiting for a decision');
    expect(waitingLabel(pending, 'elsewhere')).toBe('Waiting for a decision');
    expect(waitingForOthers([ref('x', 's', '1', { ...NONE, waitingFor: 'Waiting for another person\'s allow' })])).toBe('Waiting for another person\'s allow');
  });
});

describe('withListedPending', () => {
  it('folds what the list says into the calls the events know, never adding or dropping one', () => {
    const before = board(ref('a', 's1', '1', 'unknown'), ref('b', 's1', '2', NONE));
    const after = withListedPending(before, [listed('a', ALLOW), listed('gone', ALLOW)]);
    expect(after.a?.listed?.offers).toEqual(ALLOW);
    expect(after.b).toBe(before.b);
    // Listed, but resolved by an event since the list was asked: it stays away.
    expect(after.gone).toBeUndefined();
    expect(Object.keys(after)).toEqual(['a', 'b']);
  });

  it('answers with the same board when the list says nothing new', () => {
    const a = listed('a', ALLOW);
    const known = board({ approvalId: 'a', sessionId: 's', createdAt: '1', listed: a });
    expect(withListedPending(known, [a])).toBe(known);
    expect(withListedPending(known, [])).toBe(known);
  });
});

describe('modeChoices', () => {
  it('offers the modes the server offers, and shows the current one unoffered when it is not among them', () => {
    expect(modeChoices('trusted', ['ask', 'plan']).map((m) => [m.id, m.offered])).toEqual([['ask', true], ['plan', true], ['trusted', false]]);
    expect(modeChoices('ask', ['ask', 'plan', 'accept_edits', 'trusted']).every((m) => m.offered)).toBe(true);
    expect(modeChoices('plan', []).map((m) => [m.id, m.offered])).toEqual([['plan', false]]);
  });
});
