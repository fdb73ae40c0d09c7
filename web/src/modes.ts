// A session's modes in the owner's words: what each lets run without asking.

import type { SessionMode } from './api';

export function modeLabel(mode: SessionMode | string): string {
  return ({ ask: 'Ask', plan: 'Plan', accept_edits: 'Accept edits', trusted: 'Trusted' } as Record<string, string>)[mode] ?? mode;
}

/** What each mode lets run without asking: shown where a mode is chosen. A deny rule always wins. */
export const MODES: { id: SessionMode; hint: string }[] = [
  { id: 'ask', hint: 'Asks before every edit and command' },
  { id: 'plan', hint: 'Plans only: no edits, no commands' },
  { id: 'accept_edits', hint: 'Edits inside the project run; commands ask' },
  { id: 'trusted', hint: 'Everything runs, except what a rule denies' },
];
