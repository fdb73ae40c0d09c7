// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { emptySession, reduceSessionAll, type ServerEvent } from '../events';
import { PreparingNote, preparingText } from './Preparing';

let seq = 0;
const ev = (kind: string, data: Record<string, unknown> = {}): ServerEvent => ({ kind, data: { sessionId: 's1', seq: ++seq, ...data } });

function note(events: ServerEvent[]): HTMLElement {
  const view = reduceSessionAll(emptySession(), events);
  const root = document.createElement('div');
  render(h(PreparingNote, { preparing: view.preparing }), root);
  return root;
}

describe('a session whose worktree is being made', () => {
  it('says each phase, and shows git\'s checkout as a bar with its figures', () => {
    seq = 0;
    const opening = [ev('session.status', { status: 'preparing', mode: 'ask' })];
    expect(note(opening).textContent).toContain('Preparing the worktree…');
    expect(note([...opening, ev('session.preparing', { phase: 'branch' })]).textContent).toContain("Making the session's branch…");

    const checkout = note([...opening, ev('session.preparing', { phase: 'checkout' }),
      ev('session.preparing', { phase: 'checkout', percent: 42, done: 4200, total: 10000 })]);
    expect(checkout.textContent).toContain('Checking out files… 42% (4,200 of 10,000 files)');
    expect(checkout.querySelector('progress')?.getAttribute('value')).toBe('42');
    expect(checkout.querySelector('[role=status]')).not.toBeNull();

    expect(note([...opening, ev('session.preparing', { phase: 'ready' })]).textContent).toContain('starting the agent');
  });

  it('forgets the preparation once the agent is up, and remembers a worktree that could not be made', () => {
    seq = 0;
    const up = reduceSessionAll(emptySession(), [
      ev('session.status', { status: 'preparing', mode: 'ask' }), ev('session.preparing', { phase: 'ready' }),
      ev('session.status', { status: 'starting', mode: 'ask' }),
    ]);
    expect(up.preparing?.phase).toBe('ready');
    expect(reduceSessionAll(up, [ev('session.status', { status: 'idle', mode: 'ask' })]).preparing).toBeNull();

    const failed = reduceSessionAll(emptySession(), [
      ev('session.status', { status: 'preparing', mode: 'ask' }), ev('session.preparing', { phase: 'checkout', percent: 5, done: 1, total: 20 }),
      ev('session.error', { message: "The session's worktree could not be made: no space left on device", code: 'WORKTREE_FAILED' }),
      ev('session.status', { status: 'failed', mode: 'ask', reason: 'its worktree could not be made' }),
    ]);
    expect(failed.preparing).toBeNull();
    expect(failed.worktreeFailed).toBe(true);
    expect(failed.items.some((i) => i.type === 'error' && i.message.includes('no space left'))).toBe(true);
  });

  it('takes nonsense figures for none', () => {
    expect(preparingText({ phase: 'checkout', percent: 7 })).toBe('Checking out files… 7%');
    seq = 0;
    const view = reduceSessionAll(emptySession(), [ev('session.preparing', { phase: 'checkout', percent: 'lots', done: -1 })]);
    expect(view.preparing).toEqual({ phase: 'checkout', percent: undefined, done: undefined, total: undefined });
  });
});
