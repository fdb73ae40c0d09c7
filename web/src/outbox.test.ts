// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { attempt, clearOutbox, dropDecision, flush, keep, keepDecision, keptDecision, keptDecisions, sendKeptDecisions, waiting, whyNotTaken, type KeptDecision } from './outbox';

afterEach(clearOutbox);

describe('the outbox', () => {
  it('keeps a message with one key for every try, and sends the session\'s in order, once each', async () => {
    const first = keep('s1', 'first', 1);
    keep('s2', 'elsewhere', 2);
    const second = keep('s1', 'second', 3);
    const tries: string[] = [];
    let up = false;
    const send = async (m: { clientId: string; text: string }) => {
      tries.push(`${m.text}:${m.clientId}`);
      if (!up) throw new TypeError('Failed to fetch');
    };

    expect(await flush('s1', send)).toMatchObject([{ outcome: 'unreachable' }]);
    expect(waiting('s1').map((m) => m.text)).toEqual(['first', 'second']);
    up = true;
    expect((await flush('s1', send)).map((r) => r.outcome)).toEqual(['sent', 'sent']);
    expect(tries).toEqual([`first:${first.clientId}`, `first:${first.clientId}`, `second:${second.clientId}`]);
    expect(waiting('s1')).toEqual([]);
    expect(waiting('s2').map((m) => m.text)).toEqual(['elsewhere']);
  });

  it('offers a refused message back (the session ended), and keeps one the server could not take (5xx)', async () => {
    const ended = keep('s1', 'too late');
    const refused = await attempt(ended, async () => { throw new ApiError(409, 'SESSION_NOT_ACTIVE', 'The session is stopped.'); });
    expect(refused).toMatchObject({ outcome: 'refused', problem: expect.stringContaining('stopped') });
    expect(waiting('s1')).toEqual([]);

    const busy = keep('s1', 'later');
    expect(await attempt(busy, async () => { throw new ApiError(503, 'SERVER_BUSY', 'Try again.'); })).toMatchObject({ outcome: 'unreachable' });
    expect(waiting('s1').map((m) => m.text)).toEqual(['later']);
  });
});

describe('decisions kept offline', () => {
  const call = (approvalId: string, decision: 'allow_once' | 'deny' = 'allow_once', machine: string | null = null) =>
    ({ approvalId, sessionId: 's1', machine, decision, title: `echo ${approvalId}` });

  it('keeps one decision per call across a reload of the page, and lets the owner take it back', () => {
    const first = keepDecision(call('a1'), 1);
    const changed = keepDecision(call('a1', 'deny'), 2);
    keepDecision(call('a1', 'allow_once', 'm2'), 3);
    expect(keptDecisions(null).map((d) => d.decision)).toEqual(['deny']);
    expect(changed.clientId).not.toBe(first.clientId);
    // What a reload reads: the phone's storage, not this page's memory.
    expect(JSON.parse(localStorage.getItem('pocketcoder-outbox-decisions')!)).toHaveLength(2);
    dropDecision(changed.clientId);
    expect(keptDecision('a1', null)).toBeUndefined();
    expect(keptDecision('a1', 'm2')?.decision).toBe('allow_once');
  });

  it('sends each once with its key when the machine answers, keeps them while it does not, and keeps a retry\'s key', async () => {
    const allow = keepDecision(call('a1'), 1);
    const deny = keepDecision({ ...call('a2', 'deny'), message: 'not now', clientId: 'tried-before-1' }, 2);
    const tries: string[] = [];
    let up = false;
    const send = async (d: KeptDecision) => {
      tries.push(`${d.approvalId}:${d.decision}:${d.clientId}`);
      if (!up) throw new TypeError('Failed to fetch');
    };
    const explain = async () => 'never';
    expect(await sendKeptDecisions(null, send, explain)).toMatchObject([{ outcome: 'unreachable' }]);
    expect(keptDecisions(null)).toHaveLength(2);
    up = true;
    expect((await sendKeptDecisions(null, send, explain)).map((r) => r.outcome)).toEqual(['sent', 'sent']);
    expect(tries).toEqual([`a1:allow_once:${allow.clientId}`, `a1:allow_once:${allow.clientId}`, `a2:deny:${deny.clientId}`]);
    expect(deny.clientId).toBe('tried-before-1');
    expect(keptDecisions(null)).toEqual([]);
    // A second round at once (the connection flapping) sends nothing again.
    expect(await sendKeptDecisions(null, send, explain)).toEqual([]);
  });

  it('does not send one taken back while an earlier one is on its way, and marks what is on its way or was tried', async () => {
    const first = keepDecision(call('a1'), 1);
    const second = keepDecision(call('a2'), 2);
    const sent: string[] = [];
    await sendKeptDecisions(null, async (d) => {
      sent.push(d.approvalId);
      if (d.approvalId === 'a1') {
        // On its way, it can no longer be taken back; the owner takes the second back meanwhile.
        expect(keptDecision('a1', null)?.sending).toBe(true);
        dropDecision(second.clientId);
      }
    }, async () => 'never');
    expect(sent).toEqual(['a1']);
    expect(keptDecisions(null)).toEqual([]);
    expect(first.tried).toBeUndefined();

    // A try with no answer back marks it tried: it may have arrived, so the card no longer offers to take it back.
    keepDecision(call('a3'), 3);
    await sendKeptDecisions(null, async () => { throw new TypeError('Failed to fetch'); }, async () => 'never');
    expect(keptDecision('a3', null)).toMatchObject({ tried: true });
    expect(keptDecision('a3', null)?.sending).toBeUndefined();
  });

  it('keeps a refused decision with the reason in plain words until read, and sends it no more', async () => {
    keepDecision(call('a1'), 1);
    const refusal = new ApiError(409, 'APPROVAL_ALREADY_DECIDED', 'This approval is already decided by Ada (allow_once).');
    let sent = 0;
    const results = await sendKeptDecisions(null, async () => { sent++; throw refusal; },
      async (_, e) => whyNotTaken(e, { status: 'decided', decision: 'allow_once', decidedBy: 'Ada' }, false));
    expect(results).toMatchObject([{ outcome: 'refused', why: 'Ada already allowed it' }]);
    expect(keptDecision('a1', null)?.refused).toBe('Ada already allowed it');
    await sendKeptDecisions(null, async () => { sent++; }, async () => '');
    expect(sent).toBe(1);
  });

  it('says why a decision was not taken as the owner reads it', () => {
    const conflict = new ApiError(409, 'APPROVAL_ALREADY_DECIDED', 'already');
    expect(whyNotTaken(conflict, { status: 'decided', decision: 'deny', decidedBy: 'Ada' }, false)).toBe('Ada already denied it');
    expect(whyNotTaken(conflict, { status: 'decided', decision: 'allow_once', decidedBy: 'policy' }, false)).toBe('it was already allowed');
    expect(whyNotTaken(conflict, { status: 'decided', decision: 'deny', decidedBy: 'timeout' }, false)).toBe('the call timed out before it arrived');
    expect(whyNotTaken(conflict, { status: 'cancelled' }, true)).toBe('the session ended');
    expect(whyNotTaken(conflict, { status: 'cancelled' }, false)).toBe('the agent withdrew the call');
    expect(whyNotTaken(new ApiError(404, 'APPROVAL_NOT_FOUND', 'No approval'), null, true)).toBe('the call is gone (its session was deleted)');
    expect(whyNotTaken(new ApiError(403, 'ROLE_FORBIDDEN', 'Only an owner may decide this.'), { status: 'pending' }, false)).toBe('Only an owner may decide this.');
  });
});
