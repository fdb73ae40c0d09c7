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

describe('requests', () => {
  const sent: { url: string; init?: RequestInit }[] = [];
  const answer = (status = 200, body = '{}') => setFetch(async (url, init) => {
    sent.push({ url, init });
    return new Response(status === 204 ? null : body, { status, headers: { 'content-type': 'application/json' } });
  });
  afterEach(() => { sent.length = 0; });

  it('puts ids in the path encoded and leaves out the query parameters not given', async () => {
    answer();
    await api.file('p/1', 'src/a b.ts');
    await api.folders('', false);
    await api.gitLog('p1', 0, 'se ss');
    expect(sent.map((s) => new URL(s.url).pathname + new URL(s.url).search)).toEqual([
      '/api/projects/p%2F1/files/content?path=src%2Fa%20b.ts', '/api/folders?path=', '/api/projects/p1/git/log?skip=0&limit=50&session=se%20ss',
    ]);
  });

  it("saves a file's text as it is, over the version read", async () => {
    answer(200, '{"path":"a.txt","sha256":"new"}');
    expect(await api.writeFile('p1', 'a.txt', '{"not":"json"}', 'old')).toEqual({ path: 'a.txt', sha256: 'new' });
    expect(sent[0]?.init).toMatchObject({ method: 'PUT', body: '{"not":"json"}', headers: { 'content-type': 'text/plain; charset=utf-8', 'if-match': '"old"' } });
  });

  it('sends presence so that it outlives the page, and reads an empty answer as nothing', async () => {
    answer(204);
    expect(await api.presence(false)).toBeUndefined();
    expect(sent[0]?.init).toMatchObject({ method: 'POST', keepalive: true, body: '{"visible":false}' });
  });
});
