import type { Preparing } from '../events';

const count = new Intl.NumberFormat('en');

/** A `session.preparing` phase in words, with git's checkout figures once it reports them. */
export function preparingText(preparing: Preparing | null): string {
  switch (preparing?.phase) {
    case 'branch': return "Making the session's branch…";
    case 'checkout': {
      if (preparing.percent == null) return 'Checking out files…';
      const files = preparing.done != null && preparing.total != null ? ` (${count.format(preparing.done)} of ${count.format(preparing.total)} files)` : '';
      return `Checking out files… ${preparing.percent}%${files}`;
    }
    case 'submodules': return 'Checking out submodules…';
    case 'ready': return 'Worktree ready: starting the agent…';
    default: return 'Preparing the worktree…';
  }
}

/**
 * Shown while a session's worktree is being made (status preparing, then starting until the agent is up): what git is doing,
 * and a bar for a checkout that reports how far it is. Messages sent meanwhile wait in the queue below it.
 */
export function PreparingNote({ preparing }: { preparing: Preparing | null }) {
  return (
    <div class="working preparing" role="status" data-testid="preparing">
      <span class="spinner small" /> {preparingText(preparing)}
      {preparing?.phase === 'checkout' && preparing.percent != null && (
        <progress max={100} value={preparing.percent} aria-label="Checkout progress" />
      )}
      <p class="muted small">The agent starts in the session's own worktree once it is there; what you send meanwhile waits for it.</p>
    </div>
  );
}
