import type { Usage } from '../events';
import { linkTo } from '../router';
import { usageText } from '../usage';
import { Icon } from './ui';

/**
 * The usage line under a session's transcript, with the way to every cost beside it: the costs screen was reachable only
 * from a chip on Devices, where nobody looking at what a turn cost would think to look.
 */
export function UsageLine({ usage, modelConnections }: { usage?: Usage; modelConnections: number }) {
  const text = usageText(usage, modelConnections);
  if (!text) return null;
  return (
    <div class="usage-line">
      <p class="usage" data-testid="usage">{text}</p>
      <a class="chip-btn" data-testid="costs-link" {...linkTo('/costs')}><Icon name="history" size={18} /> Costs</a>
    </div>
  );
}
