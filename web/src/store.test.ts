// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it, vi } from 'vitest';
import { setFetch } from './api';
import { getState, loadHealth, reloadPending, setState, useStore } from './store';

function Loaded() {
  const loaded = useStore((s) => s.loaded);
  return h('p', null, loaded ? 'ready' : 'loading');
}

describe('useStore', () => {
  it('sees a change made right after the first render, before any effect ran', async () => {
    const root = document.createElement('div');
    render(h(Loaded, null), root);
    // boot() answers this fast on a quick network: straight after render(), in the same task.
    setState({ loaded: true });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(root.textContent).toBe('ready');
  });
});

describe('loadHealth', () => {
  it('shows the agents remembered from the last visit at once, then what the server answers', async () => {
    const health = (version: string) => ({ status: 'ok', version: '1', agents: [{ id: 'claude-code', available: true, version }], warnings: [] });
    localStorage.setItem('pocketcoder.health.v1', JSON.stringify(health('1.0')));
    let answer!: (r: Response) => void;
    setFetch(() => new Promise<Response>((resolve) => (answer = resolve)));
    setState({ health: undefined });

    const loading = loadHealth();
    // Before the server has answered: the remembered list.
    expect(getState().health?.agents[0]?.version).toBe('1.0');

    answer(new Response(JSON.stringify(health('2.0')), { headers: { 'content-type': 'application/json' } }));
    await loading;
    expect(getState().health?.agents[0]?.version).toBe('2.0');
    expect(JSON.parse(localStorage.getItem('pocketcoder.health.v1')!).agents[0].version).toBe('2.0');
  });
});

describe('reloadPending', () => {
  const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  const approval = (offers: Record<string, unknown>, allowedBy: string[]) => ({
    id: 'a1', sessionId: 's', createdAt: 't', risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy,
    offers: { allowOnce: false, allowSession: false, allowAlways: false, edit: false, deny: true, answer: false, waitingFor: null, ...offers },
  });

  it('folds in what this person may do with each call, and asks once more for a vote that came while a list was on its way', async () => {
    const answers: ((r: Response) => void)[] = [];
    setFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    setState({ board: { sessions: {}, pending: { a1: { approvalId: 'a1', sessionId: 's', createdAt: 't' } } } });

    reloadPending(); // the call is asked
    reloadPending(); // and this person allows it, before the first list answered
    expect(answers.length).toBe(1);
    answers[0]!(json([approval({ allowOnce: true }, [])]));
    await vi.waitFor(() => expect(answers.length).toBe(2));
    expect(getState().board.pending.a1?.listed?.offers?.allowOnce).toBe(true);

    answers[1]!(json([approval({ waitingFor: 'Waiting for another person\'s allow' }, ['Me'])]));
    await vi.waitFor(() => expect(getState().board.pending.a1?.listed?.offers?.waitingFor).toBe('Waiting for another person\'s allow'));
    expect(getState().board.pending.a1?.listed?.allowedBy).toEqual(['Me']);
    expect(answers.length).toBe(2);
  });
});
