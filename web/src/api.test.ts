import { afterEach, describe, expect, it } from 'vitest';
import { api, ApiError, NetworkError, setFetch, setUnauthorizedHandler, toApiError } from './api';

const problem = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json', ...headers } });

afterEach(() => {
  setFetch((input, init) => fetch(input, init));
  setUnauthorizedHandler(() => {});
});

describe('api errors', () => {
  it('turns problem+json into an ApiError with its code and detail', async () => {
    setFetch(async () => problem(409, { type: 'about:blank', title: 'Conflict', status: 409, detail: 'Already decided by phone.', code: 'APPROVAL_ALREADY_DECIDED' }));
    const error = await api.decide('a1', 'allow_once').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'APPROVAL_ALREADY_DECIDED', detail: 'Already decided by phone.' });
  });

  it('reads Retry-After on a rate limit', async () => {
    const error = await toApiError(problem(429, { code: 'RATE_LIMITED', detail: 'Too many.' }, { 'retry-after': '42' }));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 42 });
  });

  it('gives a code even when the body is not problem+json', async () => {
    expect(await toApiError(new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } })))
      .toMatchObject({ status: 502, code: 'INTERNAL_ERROR' });
    expect(await toApiError(new Response('{not json', { status: 400, headers: { 'content-type': 'application/json' } })))
      .toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });

  it('tells the app when the device is no longer paired', async () => {
    let signedOut = 0;
    setUnauthorizedHandler(() => signedOut++);
    setFetch(async () => problem(401, { code: 'UNAUTHORIZED', detail: 'A valid device token is required.' }));
    await expect(api.projects()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(signedOut).toBe(1);
  });

  it('reports a request that never got an answer as a NetworkError', async () => {
    setFetch(async () => { throw new TypeError('Failed to fetch'); });
    await expect(api.projects()).rejects.toBeInstanceOf(NetworkError);
  });

  it('sends JSON with the same-origin cookie and no token', async () => {
    let seen: RequestInit | undefined;
    setFetch(async (_url, init) => { seen = init; return new Response(JSON.stringify({ id: 's' }), { status: 200, headers: { 'content-type': 'application/json' } }); });
    await api.setMode('s1', 'plan');
    expect(seen?.credentials).toBe('same-origin');
    expect(seen?.method).toBe('PATCH');
    expect(seen?.body).toBe('{"mode":"plan"}');
    expect(JSON.stringify(seen?.headers)).not.toMatch(/authorization/i);
  });
});
