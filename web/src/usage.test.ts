import { describe, expect, it } from 'vitest';
import { dollarsText, usageText } from './usage';

const usage = (over: Partial<Parameters<typeof usageText>[0] & object> = {}) =>
  ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null, sessionCostUsd: null, ...over });

describe('the usage line', () => {
  it('reads a stopped turn that cost something but counted no tokens without "0 in · 0 out" or four decimals', () => {
    const text = usageText(usage({ costUsd: 0.0052, sessionCostUsd: 0.0052 }));
    expect(text).toBe('Last turn under $0.01 · session under $0.01');
    expect(text).not.toMatch(/\b0 in|\b0 out|0\.0052/);
  });

  it('gives a turn its tokens in and out, its cost in cents, the session cost and the model connections', () => {
    expect(usageText(usage({ inputTokens: 1200, cacheReadTokens: 30_000, outputTokens: 340, costUsd: 0.0526, sessionCostUsd: 1.234 }), 2))
      .toBe('Last turn 31.2k in · 340 out · $0.05 · session $1.23 · 2 model connections');
  });

  it('leaves out each part that counted nothing, and says nothing at all when nothing counted', () => {
    expect(usageText(usage({ outputTokens: 5 }))).toBe('Last turn 5 out');
    expect(usageText(usage(), 1)).toBe('1 model connection');
    expect(usageText(usage())).toBeNull();
    expect(usageText(undefined, 3)).toBeNull();
  });

  it('says costs in cents from a cent up', () => {
    expect(dollarsText(0.004)).toBe('under $0.01');
    expect(dollarsText(0.01)).toBe('$0.01');
    expect(dollarsText(12.5)).toBe('$12.50');
  });
});
