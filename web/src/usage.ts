import type { Usage } from './events';

const tokens = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : n.toLocaleString('en'));

/**
 * A cost as a person reads it on a phone: cents from a cent up ($0.05, $1.20), "under $0.01" below that. Four decimals
 * ($0.0052) read as noise; a cost of nothing is left out by the caller.
 */
export function dollarsText(n: number): string {
  return n < 0.01 ? 'under $0.01' : `$${n.toFixed(2)}`;
}

/**
 * The usage line under the transcript: the last turn's tokens and cost, the session's cost, and the agent's own model
 * connections (a count here, never a line in the transcript: replies.ts). A part that counted nothing is left out, so a
 * turn stopped before the model answered reads "Last turn under $0.01", never "0 in · 0 out · $0.0052"; null without a
 * usage report or when no part is left.
 */
export function usageText(u: Usage | undefined, modelConnections = 0): string | null {
  if (!u) return null;
  const input = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  const turn = [
    ...(input > 0 ? [`${tokens(input)} in`] : []),
    ...(u.outputTokens > 0 ? [`${tokens(u.outputTokens)} out`] : []),
    ...(u.costUsd ? [dollarsText(u.costUsd)] : []),
  ];
  const all = [
    ...(turn.length > 0 ? [`Last turn ${turn.join(' · ')}`] : []),
    ...(u.sessionCostUsd ? [`session ${dollarsText(u.sessionCostUsd)}`] : []),
    ...(modelConnections > 0 ? [`${modelConnections} model connection${modelConnections === 1 ? '' : 's'}`] : []),
  ];
  return all.length > 0 ? all.join(' · ') : null;
}
