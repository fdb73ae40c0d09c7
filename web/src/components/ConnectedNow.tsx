import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Connected, type Connections } from '../api';
import { timeAgo } from './ui';

/** Whether an address is this machine's own (a browser here, or a proxy here such as Tailscale serve or nginx). */
const isLoopback = (from?: string | null) => !!from && (from.startsWith('127.') || from === '::1' || from.startsWith('::ffff:127.'));

/** How a connection came, in words (the server says direct, hub, watch or chat:PLATFORM). */
export function viaText(via: string, from?: string | null): string {
  if (via === 'hub') return 'through the hub';
  if (via === 'watch') return 'a watch link';
  if (via.startsWith('chat:')) return `chat (${via.slice(5)})`;
  // Behind a proxy on this machine every remote phone arrives from loopback: say so rather than look local.
  return isLoopback(from) ? 'on this machine or through a proxy on it' : 'direct';
}

/** One line per connection: who, how, from where, since when, and how many streams it holds open. */
export function connectedLine(c: Connected): string {
  const who = c.personName ? `${c.personName}'s ${c.deviceName}` : c.deviceName;
  const from = c.from ? ` from ${c.from}` : '';
  const streams = c.openStreams ? ` · ${c.openStreams} stream${c.openStreams === 1 ? '' : 's'} open` : '';
  return `${who} · ${viaText(c.via, c.from)}${from} · since ${timeAgo(c.since)}${streams}`;
}

/**
 * Who reaches this machine now, and the one act that cuts them all (docs/security.md, "Reach you can see and cut"): owners
 * only (the server refuses everyone else, so nobody else is shown it). The lockdown keeps this device; only
 * `pocketcoder lockdown --lift` on the machine ends it, so the app never offers to.
 */
export function ConnectedNow({ thisDevice }: { thisDevice?: string }) {
  const [reach, setReach] = useState<Connections | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api.connections().then(setReach, (e) => setError(describeError(e)));
  useEffect(() => void load(), []);

  const lockdown = async () => {
    setError(null);
    try {
      const done = await api.lockdown();
      setSaid(`Locked down: ${done.devicesRevoked} device(s) revoked, ${done.watchLinksEnded} watch link(s) ended. Only this device goes on.`);
      setConfirm(false);
      await load();
    } catch (e) {
      setError(describeError(e));
    }
  };

  const others = (reach?.connected ?? []).filter((c) => c.deviceId !== thisDevice);
  return (
    <section class="card pad" aria-label="Connected now">
      <h2>Connected now</h2>
      {reach?.lockedDown && <p class="warn-note">Locked down {timeAgo(reach.lockedDown.lockedAt)} by {reach.lockedDown.lockedBy}: nothing pairs until <code>pocketcoder lockdown --lift</code> is run on the machine.</p>}
      {error && <p class="error-note" role="alert">{error}</p>}
      {said && <p class="ok-note" role="status">{said}</p>}
      {reach && (
        <ul class="list">
          {reach.connected.map((c) => <li key={c.deviceId + c.via}>{connectedLine(c)}{c.deviceId === thisDevice ? ' (this device)' : ''}</li>)}
          {reach.connected.length === 0 && <li>Nobody else right now.</li>}
        </ul>
      )}
      {reach && (confirm
        ? <button class="btn danger" onClick={() => void lockdown()}>Revoke every device but this one, end every watch link and stop pairing</button>
        : <button class="btn ghost" disabled={others.length === 0 && !!reach.lockedDown} onClick={() => setConfirm(true)}>Cut every remote device…</button>)}
    </section>
  );
}
