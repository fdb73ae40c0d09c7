import { describe, expect, it } from 'vitest';
import { oldestListed } from './AllSessions';
import type { Session } from '../api';

const session = (id: string, createdAt: string) => ({ id, createdAt }) as Session;

describe('oldestListed', () => {
  it('is the session created first, the id breaking a tie as the server pages', () => {
    const sessions = [session('b', '2026-01-02T00:00:00Z'), session('c', '2026-01-01T00:00:00Z'), session('a', '2026-01-01T00:00:00Z')];
    expect(oldestListed(sessions)).toBe('a');
  });

  it('is nothing for an empty list', () => {
    expect(oldestListed([])).toBeUndefined();
  });
});
