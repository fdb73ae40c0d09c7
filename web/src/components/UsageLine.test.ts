// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { UsageLine } from './UsageLine';

function line(usage: Parameters<typeof UsageLine>[0]['usage']): HTMLElement {
  const root = document.createElement('div');
  render(h(UsageLine, { usage, modelConnections: 0 }), root);
  return root;
}

describe('the usage line under a session', () => {
  it('leads to the costs of every session from where a turn\'s cost is read', () => {
    const root = line({ inputTokens: 1200, outputTokens: 80, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.05, sessionCostUsd: 0.3 });
    expect(root.querySelector('[data-testid="usage"]')?.textContent).toBe('Last turn 1,200 in · 80 out · $0.05 · session $0.30');
    expect(root.querySelector('[data-testid="costs-link"]')?.getAttribute('href')).toBe('/costs');
  });

  it('shows nothing, and no link, before anything was counted', () => {
    expect(line(undefined).innerHTML).toBe('');
  });
});
