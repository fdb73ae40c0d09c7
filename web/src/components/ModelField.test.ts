// @vitest-environment happy-dom
import { h, render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import { setFetch } from '../api';
import { forgetModelLists, ModelField } from './ModelField';

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

const asked: string[] = [];
function serve(answer: (agent: string) => Response) {
  setFetch(async (input) => {
    const url = input;
    const agent = decodeURIComponent(/\/api\/agents\/([^/]+)\/models/.exec(url)?.[1] ?? '');
    asked.push(agent);
    return answer(agent);
  });
}

async function field(agent: string, value = '', changes: string[] = []): Promise<HTMLElement> {
  const root = document.createElement('div');
  render(h(ModelField, { agent, value, onChange: (m: string) => changes.push(m), name: 'model' }), root);
  for (let i = 0; i < 20 && !root.querySelector('select') && !root.textContent?.includes('could not'); i++) await new Promise((r) => setTimeout(r, 5));
  return root;
}

afterEach(() => {
  setFetch((input, init) => fetch(input, init));
  forgetModelLists();
  asked.length = 0;
});

const claude = {
  agent: 'claude-code', default: 'default', reportedAt: '2026-11-26T01:00:00Z', source: 'probe',
  models: [
    { id: 'default', name: 'Default (recommended)', description: 'Opus' },
    { id: 'sonnet', name: 'Sonnet', description: 'Efficient for routine tasks' },
  ],
};

describe('the model field', () => {
  it('offers what the agent names, its default first and "Other…" last, asked once per agent', async () => {
    serve(() => json(200, claude));
    const root = await field('claude-code');
    const options = [...root.querySelectorAll('option')].map((o) => o.textContent);
    expect(options).toEqual(["The agent's default", 'Default (recommended) · default', 'Sonnet · sonnet', 'Other…']);
    expect(root.querySelector('option[value=sonnet]')?.getAttribute('title')).toBe('Efficient for routine tasks');
    await field('claude-code');
    expect(asked).toEqual(['claude-code']);
    // A default whose name does not say it is one is named.
    forgetModelLists();
    serve(() => json(200, { ...claude, default: 'sonnet' }));
    const named = await field('claude-code');
    expect(named.querySelector('option')?.textContent).toBe("The agent's default (Sonnet)");
  });

  it('picks a model by its id, and "Other…" turns it into free text', async () => {
    serve(() => json(200, claude));
    const changes: string[] = [];
    const root = await field('claude-code', '', changes);
    const select = root.querySelector('select')!;
    select.value = 'sonnet';
    select.dispatchEvent(new Event('change'));
    expect(changes).toEqual(['sonnet']);
    select.value = '\u0000other';
    select.dispatchEvent(new Event('change'));
    await new Promise((r) => setTimeout(r, 0));
    expect(root.querySelector('input[name=model]')).not.toBeNull();
    expect(changes.at(-1)).toBe('');
  });

  it('keeps a model of the owner\'s own as text, with the list one tap away', async () => {
    serve(() => json(200, claude));
    const root = await field('claude-code', 'claude-opus-4-8');
    for (let i = 0; i < 20 && !root.querySelector('button'); i++) await new Promise((r) => setTimeout(r, 5));
    expect((root.querySelector('input[name=model]') as HTMLInputElement).value).toBe('claude-opus-4-8');
    expect(root.querySelector('button')?.textContent).toContain('Pick from');
  });

  it('is free text where the agent names no models, or cannot be asked', async () => {
    serve((agent) => agent === 'copilot'
      ? json(200, { agent, models: [], default: null, reportedAt: '2026-11-26T01:00:00Z', source: 'probe' })
      : json(503, { type: 'about:blank', title: 'Unavailable', status: 503, code: 'AGENT_UNAVAILABLE', detail: 'qwen is not installed.' }, 'application/problem+json'));
    const none = await field('copilot');
    for (let i = 0; i < 20 && none.textContent?.includes('Asking'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(none.querySelector('select')).toBeNull();
    expect(none.querySelector('input[name=model]')).not.toBeNull();
    expect(none.textContent).toContain("blank for the agent's default");
    const unavailable = await field('qwen');
    expect(unavailable.textContent).toContain('qwen is not installed.');
    expect(unavailable.querySelector('input[name=model]')).not.toBeNull();
  });
});
