// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { attempt, clearOutbox, flush, keep, waiting } from './outbox';

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
