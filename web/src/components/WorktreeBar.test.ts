// @vitest-environment happy-dom
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, type Session, type Worktree } from '../api';
import { emptySession, reduceSessionAll, type ServerEvent } from '../events';
import { WorktreeBar } from './WorktreeBar';

const session = { id: 's1', projectId: 'p1', status: 'idle', mode: 'trusted' } as Session;
const worktree = (changed: string[]): Worktree => ({
  sessionId: 's1', path: '/w/s1', branch: 'pocketcoder/s1', baseRef: 'main', baseCommit: 'b', present: true,
  ahead: changed.length ? 1 : 0, behind: 0, changed, head: 'h', tree: 't', merged: false,
});
// Runs the bar's effects, then lets the API call they started answer and the bar render it.
const settle = () => act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));

let seq = 0;
const ev = (kind: string, data: Record<string, unknown> = {}): ServerEvent => ({ kind, data: { sessionId: 's1', seq: ++seq, ...data } });

afterEach(() => vi.restoreAllMocks());

describe('the worktree bar', () => {
  it('loads the branch again when a whole turn arrives in one batch: working is false before and after it', async () => {
    const answers = [worktree([]), worktree(['shared.txt'])];
    const load = vi.spyOn(api, 'worktree').mockImplementation(async () => answers.shift() ?? worktree(['shared.txt']));
    const root = document.createElement('div');
    const before = reduceSessionAll(emptySession(), [ev('session.status', { status: 'idle', mode: 'trusted' })]);
    const show = (view: typeof before) => act(() => render(h(WorktreeBar, {
      session, working: view.turnActive, turnEndedAt: view.turnEndedAt, onStopped: () => {},
    }), root));

    show(before);
    await settle();
    expect(root.querySelector('.worktree-summary')?.textContent).toContain('0 files changed');

    // A phone that was away catches up: the turn started, wrote the file and ended, all in one batch.
    const after = reduceSessionAll(before, [
      ev('message.user', { text: 'Write shared.txt' }), ev('session.status', { status: 'running', mode: 'trusted' }),
      ev('turn.completed', { stopReason: 'end_turn' }), ev('session.status', { status: 'idle', mode: 'trusted' }),
    ]);
    expect(after.turnActive).toBe(before.turnActive);
    show(after);
    await settle();
    expect(load).toHaveBeenCalledTimes(2);
    expect(root.querySelector('.worktree-summary')?.textContent).toContain('1 file changed');
  });
});

describe('merging', () => {
  it('is offered until the server says the branch is merged, then the bar says so instead', async () => {
    const mine = { ...session, offers: { steer: true, steerRefusal: null, modes: [], stop: true } } as Session;
    for (const merged of [false, true]) {
      vi.spyOn(api, 'worktree').mockImplementation(async () => ({ ...worktree(merged ? [] : ['shared.txt']), merged }));
      const root = document.createElement('div');
      act(() => render(h(WorktreeBar, { session: mine, working: false, turnEndedAt: 0, onStopped: () => {} }), root));
      await settle();
      act(() => (root.querySelector('.worktree-summary') as HTMLButtonElement).click());
      const merge = [...root.querySelectorAll('button')].some((b) => b.textContent === 'Merge into main');
      expect(merge).toBe(!merged);
      expect(root.querySelector('[data-testid="merged"]')?.textContent ?? null).toBe(merged ? 'Merged into main.' : null);
    }
  });
});

describe('what the session view remembers for the worktree', () => {
  it('that the worktree was made, even when the agent came up in the same batch', () => {
    seq = 0;
    const view = reduceSessionAll(emptySession(), [
      ev('session.status', { status: 'preparing', mode: 'ask' }), ev('session.preparing', { phase: 'checkout' }),
      ev('session.preparing', { phase: 'ready' }), ev('session.status', { status: 'starting', mode: 'ask' }),
      ev('session.status', { status: 'idle', mode: 'ask' }),
    ]);
    expect(view.preparing).toBeNull();
    expect(view.worktreeMadeAt).toBe(3);
  });

  it('when a turn ended: by turn.completed, or by the session stopping mid-turn', () => {
    seq = 0;
    const ended = reduceSessionAll(emptySession(), [ev('message.user', { text: 'go' }), ev('turn.completed', {})]);
    expect(ended.turnEndedAt).toBe(2);
    const stopped = reduceSessionAll(ended, [ev('message.user', { text: 'again' }), ev('session.status', { status: 'interrupted', mode: 'ask' })]);
    expect(stopped.turnEndedAt).toBe(4);
    // A status that ends nothing (idle while idle) leaves it.
    expect(reduceSessionAll(stopped, [ev('session.status', { status: 'idle', mode: 'ask' })]).turnEndedAt).toBe(4);
  });
});
