// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import type { ApprovalView } from '../events';
import { ApiError } from '../api';
import { CallerRole, type Role } from '../roles';
import { ApprovalCard, budgetText, deciderText, domainPattern, escalationText, networkCall, refusalText, votesText } from './ApprovalCard';

function card(overrides: Partial<ApprovalView>, caller?: { role: Role; name: string }): HTMLElement {
  const approval: ApprovalView = {
    approvalId: 'a1', toolCallId: 't1', tool: 'exec_command', kind: 'execute', title: 'touch x',
    input: { command: 'touch x' }, status: 'pending', ...overrides,
  };
  const root = document.createElement('div');
  render(caller ? h(CallerRole.Provider, { value: caller }, h(ApprovalCard, { approval })) : h(ApprovalCard, { approval }), root);
  return root;
}

const buttons = (root: HTMLElement) => [...root.querySelectorAll('button')].map((b) => b.textContent ?? '');

describe('ApprovalCard', () => {
  it('shows a connection by where it goes and who opened it, and offers this host for the session', () => {
    const root = card({ kind: 'network', tool: 'network:files.example.org:443', title: 'Connect to files.example.org:443',
      input: { connect: 'files.example.org:443', by: 'pip install requests' }, rulePattern: 'files.example.org:443' });
    expect(root.textContent).toContain('Wants to connect');
    expect(root.querySelector('[data-testid="network-call"]')?.textContent).toContain('files.example.org:443');
    expect(root.textContent).toContain('by pip install requests');
    expect(buttons(root)).toContain('This host, all session');
    expect(networkCall({ connect: 'a.test:1' })).toEqual({ target: 'a.test:1', by: undefined, under: undefined });
    expect(domainPattern('files.example.org:443')).toBe('*.example.org');
    expect(domainPattern('example.org:443')).toBeNull();
    expect(domainPattern('10.0.0.5:80')).toBeNull();
    expect(domainPattern('[::1]:443')).toBeNull();
  });

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

  it('is not offered to someone below the role that decides it', () => {
    const root = card({ kind: 'question', tool: 'AskUserQuestion', deciderRole: 'approver', input: { questions: [{ question: 'Ok?', options: [{ label: 'Yes' }] }] } },
      { role: 'operator', name: 'Olu' });
    expect(buttons(root)).toEqual([]);
    expect(root.textContent).toContain('Only approvers and owners may answer');
  });

  it('reads an agent\'s malformed input without failing', () => {
    const root = card({ kind: 'question', tool: 'AskUserQuestion', input: { questions: [{ question: 7 }, null, { question: 'Ok?', options: 'no' }] } });
    expect(root.querySelectorAll('fieldset').length).toBe(1);
  });
});

describe('a team\'s call', () => {
  const shell: Partial<ApprovalView> = { risk: 'shell', deciderRole: 'approver', needed: 2, allowedBy: [] };

  it('says who may decide, and where two people stand', () => {
    expect(deciderText({ deciderRole: 'approver' })).toBe('Approvers and owners may decide');
    expect(deciderText({ deciderRole: 'owner' })).toBe('Owners may decide');
    expect(votesText({ needed: 1 })).toBeNull();
    expect(votesText({ needed: 2, allowedBy: [] })).toBe('Needs two different people to allow it');
    expect(votesText({ needed: 2, allowedBy: ['Ada'] })).toBe('1 of 2 allowed — by Ada; needs one more person');
    expect(escalationText({ escalatedTo: 'owner' })).toBe('No answer in time: the owners were asked too');
    expect(escalationText({})).toBeNull();
  });

  it('shows a viewer the call and who decides it, with no button to decide', () => {
    const root = card(shell, { role: 'viewer', name: 'Vic' });
    expect(buttons(root)).toEqual([]);
    expect(root.querySelector('[data-testid="team-state"]')?.textContent).toContain('Approvers and owners may decide');
  });

  it('offers a two-person call once, as asked; after one allow, the card says so and waits for another person', () => {
    expect(buttons(card(shell, { role: 'owner', name: 'Bo' }))).toEqual(['Deny…', 'Allow once']);
    const voted = card({ ...shell, allowedBy: ['Ada'] }, { role: 'approver', name: 'Ada' });
    expect(buttons(voted)).toEqual(['Deny…']);
    expect(voted.textContent).toContain('1 of 2 allowed — by Ada; needs one more person');
    expect(voted.textContent).toContain('You allowed it');
  });

  it('asks to raise a spent budget or stop, in those words', () => {
    const input = { budget: 'session', usedTokens: 1200, capTokens: 1000, usedCostUsd: 0, capCostUsd: null, raiseTokens: 1200, raiseCostUsd: 0 };
    expect(budgetText(input).spent).toBe('This session\'s budget is spent: 1,200 tokens of 1,000 tokens.');
    expect(budgetText(input).raise).toContain('adds 1,200 tokens');
    const root = card({ risk: 'budget', tool: 'budget', kind: 'other', deciderRole: 'approver', needed: 1, input }, { role: 'owner', name: 'Bo' });
    expect(buttons(root)).toEqual(['Stop', 'Raise the budget']);
    expect(root.querySelector('.approval-title')?.textContent).toBe('The budget is spent');
  });

  it('words the server\'s refusals so the next step is clear', () => {
    expect(refusalText(new ApiError(409, 'ALREADY_ALLOWED_BY_YOU', 'Ada has allowed this already'))).toContain('needs another person');
    expect(refusalText(new ApiError(403, 'ROLE_FORBIDDEN', 'Only approvers and owners may decide shell calls'))).toBe('Not yours to decide: Only approvers and owners may decide shell calls');
  });
});
