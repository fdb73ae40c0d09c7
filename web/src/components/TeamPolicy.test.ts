import { describe, expect, it } from 'vitest';
import { sessionCapText, withCap } from './TeamPolicy';

describe('withCap', () => {
  const none = { period: 'day', session: null, project: null };

  it('sets one cap of a scope and leaves the other uncapped', () => {
    expect(withCap(none, 'session', 'tokens', '50000')).toEqual({ period: 'day', session: { tokens: 50000, costUsd: null }, project: null });
    expect(withCap({ ...none, project: { tokens: 10, costUsd: null } }, 'project', 'costUsd', '2.5').project).toEqual({ tokens: 10, costUsd: 2.5 });
  });

  it('clears a scope whose both caps are emptied: no cap, not a cap of nothing', () => {
    expect(withCap({ ...none, session: { tokens: 10, costUsd: null } }, 'session', 'tokens', ' ').session).toBeNull();
  });
});

describe('sessionCapText', () => {
  it('says the saved session cap, not "no cap", when only sessions are capped', () => {
    expect(sessionCapText({ tokens: 50000, costUsd: null })).toBe('Each session may use up to 50,000 tokens.');
    expect(sessionCapText({ tokens: 50000, costUsd: 2 })).toBe('Each session may use up to 50,000 tokens and $2.00.');
    expect(sessionCapText(null)).toBe('No cap on each session.');
  });
});
