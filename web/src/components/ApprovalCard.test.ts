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

describe('a question', () => {
  const question = (): HTMLElement => card({
    kind: 'question', tool: 'AskUserQuestion', title: 'Which database?',
    input: {
      questions: [
        { question: 'Which database?', header: 'Database', multiSelect: false, options: [{ label: 'Postgres', description: 'usual' }, { label: 'SQLite', description: 'one file' }] },
        { question: 'Which extras?', header: 'Extras', multiSelect: true, options: [{ label: 'Metrics', description: '' }, { label: 'Tracing', description: '' }] },
      ],
    },
  });

  it('is answered, never allowed: each question with its options, one or any number, and the owner\'s own words', () => {
    const root = question();
    expect(buttons(root)).toEqual(['Dismiss', 'Answer']);
    expect(root.querySelectorAll('[data-question="0"] input[type=radio]').length).toBe(2);
    expect(root.querySelectorAll('[data-question="1"] input[type=checkbox]').length).toBe(2);
    expect(root.querySelectorAll('input[type=text]').length).toBe(2);
    // Nothing chosen yet: Answer waits until every question has an answer.
    expect(root.querySelector<HTMLButtonElement>('button.primary')?.disabled).toBe(true);
  });

  it('reads an agent\'s malformed input without failing', () => {
    const root = card({ kind: 'question', tool: 'AskUserQuestion', input: { questions: [{ question: 7 }, null, { question: 'Ok?', options: 'no' }] } });
    expect(root.querySelectorAll('fieldset').length).toBe(1);
  });
});
