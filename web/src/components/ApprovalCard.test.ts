// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import type { ApprovalView } from '../events';
import { ApprovalCard } from './ApprovalCard';

function card(overrides: Partial<ApprovalView>): HTMLElement {
  const approval: ApprovalView = {
    approvalId: 'a1', toolCallId: 't1', tool: 'exec_command', kind: 'execute', title: 'touch x',
    input: { command: 'touch x' }, status: 'pending', ...overrides,
  };
  const root = document.createElement('div');
  render(h(ApprovalCard, { approval }), root);
  return root;
}

const buttons = (root: HTMLElement) => [...root.querySelectorAll('button')].map((b) => b.textContent ?? '');

describe('ApprovalCard', () => {
  it('offers "Edit, then allow" only when the agent runs an edited input', () => {
    expect(buttons(card({ canEditInput: true }))).toContain('Edit, then allow…');
    expect(buttons(card({ canEditInput: false }))).not.toContain('Edit, then allow…');
    expect(buttons(card({}))).not.toContain('Edit, then allow…');
  });

  it('shows the kind in the words rules use', () => {
    expect(card({ kind: 'execute' }).querySelector('[data-kind]')?.textContent).toBe('shell');
    expect(card({ kind: 'mcp', tool: 'mcp__github__create_issue' }).querySelector('[data-kind]')?.textContent).toBe('mcp');
  });
});
