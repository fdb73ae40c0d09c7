import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api';
import { AppBar, ErrorNote, Icon } from '../components/ui';
import { MachineBadge } from '../components/MachineBadge';
import { addMachine, parseMachineLink, removeMachine, type MachineView } from '../machines';
import { disableMachinePush, enableMachinePush, machinePushOn } from '../push';
import { useStore } from '../store';

/**
 * The machines this app holds: this one, and each other machine added with a pairing link or code of its own (its own
 * device token, kept on this phone). Removing one forgets its token here and revokes this phone's device there when it
 * still answers; nothing on any other machine changes.
 */
export function Machines() {
  const machines = useStore((s) => s.machines);
  return (
    <>
      <AppBar back="/" title="Machines" />
      <main class="page stack">
        <ul class="machine-list" aria-label="Machines">
          <li class="card machine-row" data-testid="machine-home">
            <span class="grow"><MachineBadge /> <span class="muted small">{location.host}: this app's own</span></span>
          </li>
          {machines.map((m) => (
            <li key={m.machine.id} class="card machine-row" data-testid="machine-row" data-origin={m.machine.origin}>
              <span class="grow">
                <MachineBadge view={m} /> <span class="muted small">{m.machine.origin}</span>
                {m.reason && m.status !== 'online' && <span class="muted small"> · {m.reason}</span>}
              </span>
              <button class="btn ghost small" onClick={() => void removeMachine(m.machine.id)} aria-label={`Remove ${m.machine.name}`}>Remove</button>
              <MachineNotify view={m} />
            </li>
          ))}
        </ul>
        <AddMachine />
      </main>
    </>
  );
}

/**
 * "Notify me from this machine": its notifications reach this phone through a relay on this app's machine, which passes
 * them on unread; their Allow once / Deny go back to that machine. Its state is what that machine says it holds.
 */
function MachineNotify({ view }: { view: MachineView }) {
  const [on, setOn] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const online = view.status === 'online';
  useEffect(() => {
    if (online) void machinePushOn(view.machine).then(setOn, () => setOn(null));
  }, [online, view.machine.id, view.machine.relayId]);
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      if (on) await disableMachinePush(view.machine);
      else await enableMachinePush(view.machine);
      setOn(!on);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="machine-notify stack" data-testid="machine-notify" data-state={on === null ? 'unknown' : on ? 'on' : 'off'}>
      <span class="muted small">Notifications from {view.machine.name}: {on === null ? (online ? 'checking…' : 'unknown while it is offline') : on ? 'on' : 'off'}</span>
      <button class="btn ghost small" disabled={busy || !online || on === null} onClick={() => void toggle()}>
        {on ? 'Stop notifications from this machine' : 'Notify me from this machine'}
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

function AddMachine() {
  const [link, setLink] = useState('');
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const parsed = parseMachineLink(link, code);
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await addMachine(parsed.origin, parsed.code, name, deviceName());
      setLink('');
      setCode('');
      setName('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card stack" onSubmit={submit} aria-label="Add a machine">
      <h2 class="card-title">Add a machine</h2>
      <p class="muted small">
        On the other machine run its pair command (<code>pocketcoder pair</code> where it is installed; the line its <code>serve</code>
        printed names it), or invite a device from its Devices screen, then paste its pairing link here. Its sessions and calls join this inbox with its badge.
      </p>
      <label class="field">
        <span>Pairing link, or the machine's address</span>
        <input name="link" value={link} placeholder="https://laptop/#pair=…" autoCapitalize="off" autoCorrect="off" spellcheck={false} required
          onInput={(e) => setLink((e.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span>Pairing code (when the address has none)</span>
        <input name="code" value={code} autoCapitalize="characters" autoCorrect="off" spellcheck={false} onInput={(e) => setCode((e.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span>Its name here</span>
        <input name="name" value={name} placeholder="Laptop" maxLength={40} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="btn primary" disabled={busy || !link.trim()}><Icon name="plus" size={18} /> {busy ? 'Pairing…' : 'Add machine'}</button>
    </form>
  );
}

/** What the other machine's Devices screen calls this phone: where it was added from. */
const deviceName = () => `Phone via ${location.host}`.slice(0, 100);
