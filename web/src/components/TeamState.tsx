import type { ApprovalView } from '../events';
import { useMachineReachable } from '../machineContext';

/** Where a call that needs several people stands: "1 of 2 allowed — by Ada; needs one more person". Null for a one-person call. */
export function votesText(a: Pick<ApprovalView, 'needed' | 'allowedBy'>): string | null {
  const needed = a.needed ?? 1;
  if (needed < 2) return null;
  const by = a.allowedBy ?? [];
  if (by.length === 0) return `Needs ${needed === 2 ? 'two' : needed} different people to allow it`;
  const more = needed - by.length;
  return `${by.length} of ${needed} allowed — by ${by.join(', ')}; needs ${more === 1 ? 'one more person' : `${more} more people`}`;
}

/** Said once nobody eligible answered in time and the owners were asked too (the others may still decide). */
export const escalationText = (a: Pick<ApprovalView, 'escalatedTo'>): string | null =>
  a.escalatedTo ? `No answer in time: the ${a.escalatedTo === 'owner' ? 'owners were' : `${a.escalatedTo}s were`} asked too` : null;

/**
 * The team's part of a pending card: whom it waits for when not this person (the server's words: "Waiting for an approver
 * or an owner", "Waiting for another person's allow"), where two people stand, an escalation; and, until the server has said
 * what this person may decide, that it is being asked, or, while its machine cannot be reached, that the choices come with
 * the connection (a card that arrived just before the network went has no buttons until then). Nothing for a call that
 * waits for them alone.
 */
export function TeamState({ a }: { a: ApprovalView }) {
  const votes = votesText(a);
  const escalation = escalationText(a);
  const waitingFor = a.offers?.waitingFor;
  const up = useMachineReachable();
  if (a.offers && !votes && !escalation && !waitingFor) return null;
  return (
    <div class="team-state muted small" data-testid="team-state">
      {!a.offers && <div data-testid="checking-offers">{up ? 'Checking what you may decide…' : 'Your choices show once the connection is back.'}</div>}
      {waitingFor && <div class="waiting-for" data-testid="waiting-for">{waitingFor}</div>}
      {votes && <div data-votes={(a.allowedBy ?? []).length}>{votes}</div>}
      {escalation && <div data-escalated>{escalation}</div>}
    </div>
  );
}
