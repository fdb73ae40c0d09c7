// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, NetworkError, type Api } from '../api';
import type { ApprovalView } from '../events';
import { clearOutbox, keptDecision } from '../outbox';
import { decideOrKeep, mayKeep } from './KeptDecisions';

afterEach(clearOutbox);

const call: ApprovalView = { approvalId: 'a1', sessionId: 's1', toolCallId: 't1', tool: 'Bash', kind: 'execute', title: 'touch x', input: { command: 'touch x' }, status: 'pending' };

/** A client whose decide answers with `answer` (or throws it), recording what it was sent. */
function client(answer: unknown): { api: Api; sent: { id: string; decision: string; clientId?: string; message?: string }[] } {
  const sent: { id: string; decision: string; clientId?: string; message?: string }[] = [];
  const api = {
    decide: async (id: string, decision: string, extra?: { clientId?: string; message?: string }) => {
      sent.push({ id, decision, ...extra });
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Api;
  return { api, sent };
}

describe('a decision taken on a card', () => {
  it('is kept offline only as Allow once or Deny of a tool call', () => {
    expect(mayKeep(call, 'allow_once')).toBe(true);
    expect(mayKeep(call, 'deny')).toBe(true);
    expect(mayKeep(call, 'allow_session')).toBe(false);
    expect(mayKeep(call, 'allow_always', { pattern: 'touch *' })).toBe(false);
    expect(mayKeep(call, 'allow_once', { updatedInput: { command: 'ls' } })).toBe(false);
    expect(mayKeep({ ...call, kind: 'question' }, 'deny')).toBe(false);
    expect(mayKeep({ ...call, risk: 'budget' }, 'allow_once')).toBe(false);
  });

  it('is kept without a try while the machine cannot be reached', async () => {
    const { api, sent } = client({ status: 'decided' });
    expect(await decideOrKeep(api, null, call, 'deny', 'not now', false)).toBeNull();
    expect(sent).toEqual([]);
    expect(keptDecision('a1', null)).toMatchObject({ decision: 'deny', message: 'not now', sessionId: 's1', title: 'touch x' });
  });

  it('goes at once with a key when the machine answers, and is kept with that same key when the try fails on the way', async () => {
    const up = client({ status: 'decided', decision: 'allow_once' });
    expect(await decideOrKeep(up.api, null, call, 'allow_once', undefined, true)).toMatchObject({ status: 'decided' });
    expect(up.sent[0]!.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(keptDecision('a1', null)).toBeUndefined();

    // The answer lost (the request may have arrived): kept with the key it was sent with, so sending it again decides nothing twice.
    const lost = client(new NetworkError('Failed to fetch'));
    expect(await decideOrKeep(lost.api, 'm2', call, 'allow_once', undefined, true)).toBeNull();
    expect(keptDecision('a1', 'm2')?.clientId).toBe(lost.sent[0]!.clientId);
  });

  it('is refused as before when the machine says no: the refusal is the card\'s to show, nothing is kept', async () => {
    const refused = client(new ApiError(403, 'ROLE_FORBIDDEN', 'Only an owner may decide this.'));
    await expect(decideOrKeep(refused.api, null, call, 'allow_once', undefined, true)).rejects.toThrow('Only an owner');
    expect(keptDecision('a1', null)).toBeUndefined();
  });
});
