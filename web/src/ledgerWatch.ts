// The phone as a witness: it remembers the newest ledger entry it has seen and, at every load, checks that the
// ledger still contains that exact entry. Someone with access to the machine's files can rewrite the whole chain
// (and its head file) consistently; they cannot reach into the phone, so the rewrite becomes visible to the owner.

export interface SeenHead {
  seq: number;
  hash: string;
  seenAt: string;
}

export interface LedgerSource {
  head(): Promise<{ seq: number; hash: string }>;
  /** The entry with this seq, or null when there is none. */
  entry(seq: number): Promise<{ seq: number; hash: string } | null>;
}

const KEY = 'pocketcoder.ledgerHead.v1';

function remembered(storage: Storage): SeenHead | null {
  try {
    const value = JSON.parse(storage.getItem(KEY) ?? 'null') as SeenHead | null;
    return value && typeof value.seq === 'number' && typeof value.hash === 'string' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Checks the ledger against what this phone saw last. Returns a warning for the owner, or null when the ledger
 * extends what was seen (then the newest head is remembered). After a warning the old head is kept, so the warning
 * stays until the owner looks into it rather than vanishing on the next load.
 */
export async function checkLedger(source: LedgerSource, storage: Storage, now = new Date()): Promise<string | null> {
  const seen = remembered(storage);
  const head = await source.head();
  if (seen && seen.seq > 0) {
    const when = new Date(seen.seenAt).toLocaleString();
    if (head.seq < seen.seq) {
      return `The ledger now ends at entry ${head.seq}, but this phone saw entry ${seen.seq} on ${when}: entries were removed from the machine's ledger.`;
    }
    const entry = await source.entry(seen.seq);
    if (!entry || entry.hash !== seen.hash) {
      return `Ledger entry ${seen.seq} is not the one this phone saw on ${when}: the machine's ledger was rewritten.`;
    }
  }
  storage.setItem(KEY, JSON.stringify({ seq: head.seq, hash: head.hash, seenAt: now.toISOString() } satisfies SeenHead));
  return null;
}

const SIGNING_KEY = 'pocketcoder.ledgerKey.v1';

interface SeenKey {
  fingerprint: string;
  seenAt: string;
}

/**
 * The phone as the witness of the key that signs the machine's ledger exports: it remembers the fingerprint it first
 * saw and warns when the machine shows another. Someone with the machine's files could make a key of their own and sign
 * a forged history with it; an auditor given the new fingerprint would then accept it. The warning stays until the
 * owner accepts the new key (`acceptSigningKey`).
 */
export function checkSigningKey(fingerprint: string, storage: Storage, now = new Date()): string | null {
  let seen: SeenKey | null = null;
  try {
    seen = JSON.parse(storage.getItem(SIGNING_KEY) ?? 'null') as SeenKey | null;
  } catch {
    seen = null;
  }
  if (seen && typeof seen.fingerprint === 'string' && seen.fingerprint !== fingerprint) {
    return `This machine signs ledger exports with another key than the one this phone saw on ${new Date(seen.seenAt).toLocaleString()} ` +
      `(${seen.fingerprint}). Exports signed before do not verify against it. If you did not replace the key yourself, someone else did.`;
  }
  if (!seen) acceptSigningKey(fingerprint, storage, now);
  return null;
}

/** The owner replaced the key on purpose: remember the new one. */
export function acceptSigningKey(fingerprint: string, storage: Storage, now = new Date()) {
  storage.setItem(SIGNING_KEY, JSON.stringify({ fingerprint, seenAt: now.toISOString() } satisfies SeenKey));
}
