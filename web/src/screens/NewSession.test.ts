// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { installedFirst } from './NewSession';

describe('installedFirst', () => {
  it('lists the agents installed here before the ones that would need installing, each group in the server\'s order', () => {
    const agents = [
      { id: 'codex', available: false }, { id: 'gemini', available: false }, { id: 'claude', available: true },
      { id: 'qwen', available: false }, { id: 'opencode', available: true },
    ];
    expect(installedFirst(agents).map((a) => a.id)).toEqual(['claude', 'opencode', 'codex', 'gemini', 'qwen']);
  });
});
