import type { MachineView } from '../machines';
import { BADGE_COLORS } from '../machines';

/** The badge that says which machine a session or call is on: its name on its colour, and its state when it is not online. */
export function MachineBadge({ view }: { view?: MachineView }) {
  const name = view ? view.machine.name : 'This machine';
  const color = view ? view.machine.color : BADGE_COLORS[0];
  const state = view && view.status !== 'online' ? STATE_WORDS[view.status] : null;
  return (
    <span class={`machine-badge${state ? ' machine-' + view!.status : ''}`} style={{ '--machine': color }} data-machine={name} data-testid="machine-badge">
      {name}{state && <span class="machine-state"> · {state}</span>}
    </span>
  );
}

const STATE_WORDS = { connecting: 'connecting', offline: 'offline', revoked: 'signed out', online: '' } as const;
