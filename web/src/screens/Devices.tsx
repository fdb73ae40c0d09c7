import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Device } from '../api';
import { AppBar, ErrorNote, timeAgo } from '../components/ui';
import { signedOut } from '../store';
import { ChannelState, NotificationPanel } from './Notifications';

export function Devices() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () => api.devices().then(setDevices, (e) => setError(describeError(e)));
  useEffect(() => void load(), []);

  const revoke = async (device: Device) => {
    try {
      await api.revokeDevice(device.id);
      if (device.current) signedOut();
      else await load();
    } catch (e) {
      setError(describeError(e));
    }
    setConfirm(null);
  };

  const sorted = (devices ?? []).slice().sort((a, b) => Number(b.current) - Number(a.current) || Number(!!a.revokedAt) - Number(!!b.revokedAt));
  return (
    <>
      <AppBar back="/" title="Devices" />
      <main class="page">
        <ErrorNote error={error} />
        <NotificationPanel onChange={() => void load()} />
        <ul class="list">
          {sorted.map((d) => (
            <li key={d.id} class={`list-row device${d.revokedAt ? ' revoked' : ''}`} data-device={d.name}>
              <div class="grow">
                <div><strong>{d.name}</strong> {d.current && <span class="badge badge-run">This device</span>}</div>
                <div class="muted small">
                  {d.revokedAt ? `Revoked ${timeAgo(d.revokedAt)}` : `Paired ${timeAgo(d.createdAt)}${d.lastSeenAt ? ` · seen ${timeAgo(d.lastSeenAt)}` : ''}`}
                </div>
                {d.notifications.map((c) => <ChannelState key={c.kind} channel={c} />)}
              </div>
              {!d.revokedAt && (confirm === d.id
                ? <button class="btn danger small" onClick={() => void revoke(d)}>{d.current ? 'Sign out' : 'Revoke'}</button>
                : <button class="btn danger-ghost small" onClick={() => setConfirm(d.id)}>Revoke…</button>)}
            </li>
          ))}
        </ul>
        {devices && <p class="fine">A revoked device is refused on its very next request. Pair again with <code>pocketcoder pair</code>.</p>}
      </main>
    </>
  );
}
