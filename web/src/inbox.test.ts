import { describe, expect, it } from 'vitest';
import type { Approval, ApprovalOffers, Session } from './api';
import type { PendingRef } from './dashboard';
import { batchable, inboxEntries, needsYouFirst, similarGroups, swipeOutcome, toggleSelected, viewOf } from './inbox';

const NONE: ApprovalOffers = { allowOnce: false, allowSession: false, allowAlways: false, edit: false, deny: false, answer: false, waitingFor: 'Waiting for another person\'s allow' };
const ALLOW: ApprovalOffers = { ...NONE, allowOnce: true, allowSession: true, deny: true, waitingFor: null };

const approval = (id: string, over: Partial<Approval> = {}): Approval => ({
  id, sessionId: 's1', projectId: 'p', toolCallId: `t-${id}`, tool: 'Bash', kind: 'execute', title: `echo ${id}`, input: { command: `echo ${id}` },
  plan: null, status: 'pending', createdAt: `2026-01-0${id.charCodeAt(0) - 96}T00:00:00Z`, decision: null, decidedBy: null, decidedAt: null, message: null,
  updatedInput: null, deliveredTo: [], canEditInput: true, rulePattern: `echo ${id}`, risk: 'shell', deciderRole: 'approver', needed: 1, allowedBy: [],
  offers: ALLOW, riskSigns: [], ...over,
} as Approval);
const board = (...as: Approval[]): Record<string, PendingRef> =>
  Object.fromEntries(as.map((a) => [a.id, { approvalId: a.id, sessionId: a.sessionId, createdAt: a.createdAt, listed: a }]));

describe('the inbox', () => {
  it('puts what needs this person first and what waits on someone else after, each oldest first', () => {
    const pending = board(approval('c'), approval('a', { offers: NONE, needed: 2, allowedBy: ['Ana'] }), approval('b'), approval('d', { offers: null }));
    // One the approvals list has not said whole yet (an event alone) is not shown half.
    pending.e = { approvalId: 'e', sessionId: 's2', createdAt: '2026-01-01T00:00:00Z' };
    const { mine, others } = inboxEntries(pending);
    expect(mine.map((e) => e.approval.id)).toEqual(['b', 'c']);
    expect(others.map((e) => e.approval.id)).toEqual(['a', 'd']);
  });

  it('groups plain calls of the same tool that this person may allow and deny; risky, two-person, questions and lone calls stay apart', () => {
    const entries = inboxEntries(board(
      approval('a'), approval('b', { sessionId: 's2' }), approval('c', { riskSigns: ['piped-to-shell'] }),
      approval('d', { tool: 'Write', kind: 'edit' }), approval('e', { kind: 'question', tool: 'AskUserQuestion' }), approval('f', { kind: 'question', tool: 'AskUserQuestion' }),
      approval('g', { needed: 2 }), approval('h', { offers: { ...ALLOW, deny: false } }),
    )).mine;
    expect([...similarGroups(entries)]).toEqual([['execute:Bash', ['a', 'b']]]);
    expect(batchable(approval('i', { risk: 'budget', tool: 'budget', kind: 'other' }))).toBe(false);
    expect(batchable(approval('j', { plan: 'Do it' }))).toBe(false);
  });

  it('selects only calls like the ones selected: another kind starts over, a second tap lets go', () => {
    const entries = inboxEntries(board(approval('a'), approval('b'), approval('c', { tool: 'Write', kind: 'edit' }), approval('d', { tool: 'Write', kind: 'edit' }))).mine;
    expect(toggleSelected([], 'a', entries)).toEqual(['a']);
    expect(toggleSelected(['a'], 'b', entries)).toEqual(['a', 'b']);
    expect(toggleSelected(['a', 'b'], 'c', entries)).toEqual(['c']);
    expect(toggleSelected(['a', 'b'], 'a', entries)).toEqual(['b']);
  });

  it('decides a plain call by a swipe past the threshold, and never a risky one', () => {
    const plain = approval('a');
    expect(swipeOutcome(100, 300, plain)).toBeNull();
    expect(swipeOutcome(150, 300, plain)).toBe('allow_once');
    expect(swipeOutcome(-150, 300, plain)).toBe('deny');
    expect(swipeOutcome(290, 300, approval('b', { riskSigns: ['deletes'] }))).toBe('button');
    expect(swipeOutcome(-290, 300, approval('b', { riskSigns: ['deletes'] }))).toBe('button');
    expect(swipeOutcome(200, 300, approval('c', { offers: { ...NONE, deny: true } }))).toBe('button');
    expect(swipeOutcome(200, 300, approval('d', { kind: 'question' }))).toBe('button');
  });

  it('orders sessions with a call waiting for this person first, the longest waiting leading', () => {
    const s = (id: string) => ({ id }) as Session;
    const pending = board(approval('b', { sessionId: 's3' }), approval('a', { sessionId: 's4' }), approval('c', { sessionId: 's1', offers: NONE }));
    expect(needsYouFirst([s('s1'), s('s2'), s('s3'), s('s4')], pending).map((x) => x.id)).toEqual(['s4', 's3', 's1', 's2']);
  });

  it('draws a listed approval as the session card does', () => {
    const v = viewOf(approval('a', { riskSigns: ['network'] }));
    expect(v).toMatchObject({ approvalId: 'a', sessionId: 's1', tool: 'Bash', kind: 'execute', status: 'pending', riskSigns: ['network'], offers: ALLOW });
  });

  it('names the subagent that asked, as the session card does', () => {
    expect(viewOf(approval('a', { parentToolCallId: 'call-1', askedBy: 'Subagent: Write the file' }))).toMatchObject({ parentToolCallId: 'call-1', askedBy: 'Subagent: Write the file' });
    expect(viewOf(approval('b')).parentToolCallId).toBeUndefined();
  });
});
