import { describe, expect, it } from 'vitest';
import { linkedPairingCode, pairCommand, takePairingLink } from './pairing';

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

describe('the pair command named by the help', () => {
  it('is the one the server says runs on its machine, and `pocketcoder pair` only until it has said', () => {
    expect(pairCommand({ pairCommand: 'dotnet /src/PocketCoder/bin/Release/net10.0/pocketcoder.dll pair' }))
      .toBe('dotnet /src/PocketCoder/bin/Release/net10.0/pocketcoder.dll pair');
    expect(pairCommand({ pairCommand: null })).toBe('pocketcoder pair');
    expect(pairCommand(undefined)).toBe('pocketcoder pair');
  });
});
