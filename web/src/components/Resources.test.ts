import { describe, expect, it } from 'vitest';
import { memoryText, resourcesText } from './Resources';
import type { Resources } from '../api';

describe('resources', () => {
  it('says memory in MiB, then GiB', () => {
    expect(memoryText(312 * 1024 * 1024)).toBe('312 MiB');
    expect(memoryText(24105 * 1024 * 1024)).toBe('23.5 GiB');
  });

  it('says who runs, who waits and where the memory is', () => {
    const r: Resources = {
      limit: 4, limitSource: 'owner', running: 4, queued: ['s5'], sessions: [], agentsMemoryBytes: 1200 * 1024 * 1024,
      serverMemoryBytes: 51 * 1024 * 1024, machineMemoryBytes: 16 * 1024 ** 3, machineAvailableBytes: 9 * 1024 ** 3,
    };
    expect(resourcesText(r)).toBe('4 of 4 agents running · 1 in line · agents 1.2 GiB · machine 16.0 GiB (9.0 GiB free)');
  });
});
