import { describe, expect, it } from 'vitest';
import { acceptSigningKey, checkLedger, checkSigningKey, type LedgerSource } from './ledgerWatch';

class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string) { return this.items.get(key) ?? null; }
  setItem(key: string, value: string) { this.items.set(key, value); }
}

function ledger(hashes: string[]): LedgerSource {
  return {
    head: async () => ({ seq: hashes.length, hash: hashes[hashes.length - 1] ?? '0'.repeat(64) }),
    entry: async (seq) => (seq >= 1 && seq <= hashes.length ? { seq, hash: hashes[seq - 1]! } : null),
  };
}

describe('the phone as the ledger witness', () => {
  it('accepts a ledger that extends what it saw, and remembers the new head', async () => {
    const storage = new MemoryStorage() as unknown as Storage;
    expect(await checkLedger(ledger(['a', 'b']), storage)).toBeNull();
    expect(await checkLedger(ledger(['a', 'b', 'c']), storage)).toBeNull();
    expect(await checkLedger(ledger(['a', 'b', 'c']), storage)).toBeNull();
  });

  it('warns when the entry it saw was rewritten, and keeps warning', async () => {
    const storage = new MemoryStorage() as unknown as Storage;
    await checkLedger(ledger(['a', 'b', 'c']), storage);
    const forged = ledger(['a', 'x', 'y', 'z']);
    expect(await checkLedger(forged, storage)).toMatch(/entry 3 is not the one this phone saw/);
    expect(await checkLedger(forged, storage)).toMatch(/rewritten/);
  });

  it('warns when entries were cut off the end', async () => {
    const storage = new MemoryStorage() as unknown as Storage;
    await checkLedger(ledger(['a', 'b', 'c']), storage);
    expect(await checkLedger(ledger(['a']), storage)).toMatch(/ends at entry 1, but this phone saw entry 3/);
  });
});

describe('the phone as the witness of the ledger signing key', () => {
  it('remembers the first key and is quiet while it stays', () => {
    const storage = new MemoryStorage() as unknown as Storage;
    expect(checkSigningKey('SHA256:aaa', storage)).toBeNull();
    expect(checkSigningKey('SHA256:aaa', storage)).toBeNull();
  });

  it('warns when the machine shows another key, and keeps warning until the owner accepts it', () => {
    const storage = new MemoryStorage() as unknown as Storage;
    checkSigningKey('SHA256:aaa', storage);
    expect(checkSigningKey('SHA256:bbb', storage)).toMatch(/another key than the one this phone saw .*\(SHA256:aaa\)/);
    expect(checkSigningKey('SHA256:bbb', storage)).toMatch(/someone else did/);
    acceptSigningKey('SHA256:bbb', storage);
    expect(checkSigningKey('SHA256:bbb', storage)).toBeNull();
  });
});
