// No text shown to the owner names an API path: the server's problems are worded without them, the app strips any
// that still come (an older server), and no screen writes one itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, describeError, setFetch, withoutApiPaths } from './api';
import { answersOf, editedTitle } from './components/ApprovalCard';
import type { ApprovalView } from './events';

const problem = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json' } });

afterEach(() => setFetch((input, init) => fetch(input, init)));

describe('problem details', () => {
  // What earlier servers said (each now worded without its path in src/).
  const older = [
    'git has no author identity for this project (user.name and user.email): set one (PUT /api/projects/{id}/git/identity) before merging.',
    'git has no author identity for this project (user.name and user.email). Set one for the project with PUT /api/projects/{id}/git/identity {name, email} (the app asks for it), or run `git config --global user.name …` and `git config --global user.email …` on the machine.',
    'This is a question: answer it (POST /api/approvals/{id}/answer) or dismiss it with deny.',
    'claude was not found. See GET /api/health for what is installed.',
  ];

  it.each(older)('drops the API path from %s', (detail) => {
    const shown = withoutApiPaths(detail);
    expect(shown).not.toMatch(/\/api\//);
    expect(shown.length).toBeGreaterThan(20);
    expect(shown).not.toMatch(/\(\s*\)|\s[.,:]/);
  });

  it('leaves words without a path exactly as they are', () => {
    expect(withoutApiPaths('Nothing is staged : stage changes first.')).toBe('Nothing is staged : stage changes first.');
  });

  it('never shows a path from a refused request', async () => {
    setFetch(async () => problem(409, { code: 'GIT_IDENTITY_MISSING', detail: older[1] }));
    const error = await api.gitCommit('p1', 'message').catch((e: unknown) => e);
    expect(describeError(error)).not.toMatch(/\/api\//);
    expect(describeError(error)).toMatch(/^git has no author identity/);
  });
});

describe("the app's own words", () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) && !/\.test\.ts$|api\.gen\.ts$/.test(name) ? [path] : [];
  });
  const src = join(__dirname);

  it('name no API path outside the requests themselves', () => {
    const offenders: string[] = [];
    for (const file of files(src)) {
      if (file.endsWith(`${join('src', 'api.ts')}`)) continue; // the requests: the only place paths belong
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
      code.split('\n').forEach((line, i) => {
        // A URL the app opens (an event stream) is no text.
        if (line.includes('/api/') && !/new EventSource\(|url: [`']\/api\//.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});

describe('decided rows', () => {
  const base: ApprovalView = { approvalId: 'a', toolCallId: 't', tool: 'Bash', kind: 'execute', title: 'echo asked', input: { command: 'echo asked' }, status: 'decided', decision: 'allow_once' };

  it('name what ran after an edit, and nothing when it ran as asked', () => {
    expect(editedTitle(base)).toBeNull();
    expect(editedTitle({ ...base, updatedInput: { command: 'echo edited' }, updatedTitle: 'echo edited' })).toBe('echo edited');
    // An older server's event without the title: the edited command itself.
    expect(editedTitle({ ...base, updatedInput: { command: 'echo edited' } })).toBe('echo edited');
    expect(editedTitle({ ...base, decision: 'deny', updatedInput: { command: 'x' } })).toBeNull();
  });

  it("say what a question's answers were, in the order asked", () => {
    const question: ApprovalView = {
      ...base, tool: 'AskUserQuestion', kind: 'question', title: 'Which?',
      input: { questions: [{ question: 'Which database?', options: [] }, { question: 'Which extras?', options: [] }] },
      updatedInput: { answers: { 'Which extras?': 'Metrics, Tracing', 'Which database?': 'Postgres' } },
    };
    expect(answersOf(question)).toEqual(['Postgres', 'Metrics, Tracing']);
    expect(answersOf({ ...question, decision: 'deny' })).toEqual([]);
  });
});
