// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { emptySession, reduceSessionAll, type Item, type ServerEvent } from '../events';
import { subagentState, subagentTree, timeline, Transcript } from './Transcript';

let seq = 0;
const ev = (kind: string, data: Record<string, unknown> = {}): ServerEvent => ({ kind, data: { sessionId: 's1', seq: ++seq, ...data } });

/** A Claude session that delegates: the Agent call, its task, and the subagent's shell call put to the owner (as the real CLI sends them). */
function delegating(): ServerEvent[] {
  seq = 0;
  return [
    ev('message.user', { text: 'Delegate it' }),
    ev('tool.call', { toolCallId: 'A', tool: 'Agent', kind: 'other', title: 'Subagent: Write the file', input: { description: 'Write the file' } }),
    ev('task.status', { toolCallId: 'A', taskId: 't1', taskType: 'local_agent', status: 'running', description: 'Write the file', summary: null }),
    ev('message.delta', { text: 'Main reply streaming' }),
    ev('message', { text: 'On it.', parentToolCallId: 'A' }),
    ev('tool.call', { toolCallId: 'B', tool: 'Bash', kind: 'execute', title: 'echo sub > f.txt', input: { command: 'echo sub > f.txt' }, parentToolCallId: 'A' }),
    ev('approval.requested', { approvalId: 'ap1', toolCallId: 'B', tool: 'Bash', kind: 'execute', title: 'echo sub > f.txt', input: { command: 'echo sub > f.txt' },
      canEditInput: true, createdAt: '2026-01-01T00:00:00Z', rulePattern: 'echo sub > f.txt', parentToolCallId: 'A' }),
  ];
}

const tool = (items: Item[], id: string) => items.find((i) => i.type === 'tool' && i.toolCallId === id) as Extract<Item, { type: 'tool' }>;

describe('subagents', () => {
  it('keep their parent on calls, words and waiting cards, and their task its own state', () => {
    const view = reduceSessionAll(emptySession(), delegating());
    expect(tool(view.items, 'B').parentToolCallId).toBe('A');
    expect(tool(view.items, 'A').task).toEqual({ taskId: 't1', status: 'running', description: 'Write the file', summary: undefined });
    // The subagent's words do not end the main reply being streamed: they are an item of their own, under A.
    const said = view.items.filter((i) => i.type === 'assistant');
    expect(said.map((i) => [i.text, i.done, 'parentToolCallId' in i ? i.parentToolCallId : undefined])).toEqual([
      ['Main reply streaming', false, undefined], ['On it.', true, 'A']]);
    const card = view.items.find((i) => i.type === 'approval');
    expect(card?.type === 'approval' && card.approval.parentToolCallId).toBe('A');

    // Completed with no description: the one it started with stays; a background Agent call's early result does not end it.
    const done = reduceSessionAll(view, [
      ev('tool.result', { toolCallId: 'A', content: 'Async agent launched', isError: false, truncated: false }),
      ev('task.status', { toolCallId: 'A', taskId: 't1', taskType: null, status: 'running', description: null, summary: null }),
    ]);
    expect(subagentState(tool(done.items, 'A'))).toBe('running');
    const ended = reduceSessionAll(done, [ev('task.status', { toolCallId: 'A', taskId: 't1', taskType: null, status: 'failed', description: null, summary: 'No file' })]);
    expect(tool(ended.items, 'A').task).toMatchObject({ status: 'failed', description: 'Write the file', summary: 'No file' });
    expect(subagentState(tool(ended.items, 'A'))).toBe('failed');
  });

  it('show as a tree: the subagent under its call, its waiting card on top naming it, folded with one tap', async () => {
    const view = reduceSessionAll(emptySession(), delegating());
    const tree = subagentTree(timeline(view.items).shown);
    expect(tree.under.get('A')?.map((i) => i.type)).toEqual(['assistant']); // B waits: its card stands for it, on top
    expect(tree.top.map((i) => i.type)).toEqual(['user', 'tool', 'assistant', 'approval']);

    const root = document.createElement('div');
    render(h(Transcript, { items: view.items }), root);
    const subagent = root.querySelector('.subagent[data-subagent="A"]')!;
    expect(subagent.getAttribute('data-state')).toBe('running');
    expect(subagent.querySelector('.subagent-toggle')?.textContent).toContain('0 calls · 1 waiting for you');
    expect(subagent.querySelector('.subagent-steps')?.textContent).toContain('On it.');
    expect(root.querySelector('[data-testid="asked-by"]')?.textContent).toBe('Asked by the subagent “Subagent: Write the file”');

    // Allowed: the call joins its subagent's steps, and the steps fold away.
    const allowed = reduceSessionAll(view, [
      ev('approval.resolved', { approvalId: 'ap1', toolCallId: 'B', status: 'decided', decision: 'allow_once', decidedBy: 'phone', message: null, updatedInput: null }),
      ev('tool.result', { toolCallId: 'B', content: '', isError: false, truncated: false }),
    ]);
    render(h(Transcript, { items: allowed.items }), root);
    expect(root.querySelector('.subagent-steps')?.textContent).toContain('echo sub > f.txt');
    expect(root.querySelectorAll('.transcript > li > .tool[data-tool="Bash"]').length).toBe(0);
    (root.querySelector('.subagent-toggle') as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(root.querySelector('.subagent-steps')).toBeNull();
  });

  it('offer Stop on a running subagent only to whoever may steer, and stop it by its task id', async () => {
    const view = reduceSessionAll(emptySession(), delegating());
    const root = document.createElement('div');
    render(h(Transcript, { items: view.items }), root);
    expect(root.querySelector('.subagent-stop')).toBeNull();

    const stopped: string[] = [];
    render(h(Transcript, { items: view.items, onStopTask: async (taskId: string) => void stopped.push(taskId) }), root);
    (root.querySelector('.subagent-stop') as HTMLButtonElement).click();
    expect(stopped).toEqual(['t1']);

    const ended = reduceSessionAll(view, [ev('task.status', { toolCallId: 'A', taskId: 't1', taskType: null, status: 'stopped', description: null, summary: null })]);
    render(h(Transcript, { items: ended.items, onStopTask: async () => undefined }), root);
    expect(root.querySelector('.subagent-stop')).toBeNull();
    expect(root.querySelector('.subagent')?.getAttribute('data-state')).toBe('stopped');
  });
});
