import { describe, expect, it } from 'vitest';
import { linkedPairingCode, takePairingLink } from './pairing';

describe('the pairing link', () => {
  it('keeps the code in memory and leaves no trace of it in the address or the history', () => {
    const replaced: string[] = [];
    const history = { replaceState: (_s: unknown, _t: string, url: string) => void replaced.push(url) } as unknown as History;
    expect(takePairingLink({ hash: '#pair=ABCD-EFGH' } as Location, history)).toBe(true);
    expect(linkedPairingCode()).toBe('ABCD-EFGH');
    expect(replaced).toEqual(['/pair']);
    expect(replaced.join('')).not.toContain('ABCD');
  });

  it('ignores a fragment that is not a pairing link', () => {
    const replaced: string[] = [];
    const history = { replaceState: (_s: unknown, _t: string, url: string) => void replaced.push(url) } as unknown as History;
    expect(takePairingLink({ hash: '#pair=<script>' } as Location, history)).toBe(false);
    expect(replaced).toEqual([]);
  });
});
