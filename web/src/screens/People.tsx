import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Invite, type Person } from '../api';
import { AppBar, ErrorNote, timeAgo } from '../components/ui';
import { ROLES, type Role } from '../roles';
import { refresh, useOwner, useStore } from '../store';
import { canShare, PairingQr } from '../components/PairingQr';
import { ConnectedNow } from '../components/ConnectedNow';

const ROLE_HINT: Record<Role, string> = {
  viewer: 'Reads sessions, files, the ledger and the team; decides nothing.',
  operator: 'Starts and steers sessions, backlog, git and files.',
  approver: 'Also decides approvals and questions, and has a shell of their own.',
  owner: 'Everything: also people, rules, MCP servers, settings and bridges.',
};
const roleName = (role: Role) => role.charAt(0).toUpperCase() + role.slice(1);

/**
 * The team: who may do what, and on which devices. Owners invite people, change roles, pair more devices and revoke;
 * everyone else sees the team and may pair another device of their own (the server allows no more).
 */
export function People() {
  const [people, setPeople] = useState<Person[] | null>(null);
  const [invite, setInvite] = useState<Invite | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Their own role, the server's word about them: inviting, changing roles and revoking are an owner's.
  const owner = useOwner() === true;
  const me = useStore((s) => s.me?.person.id);
  const thisDevice = useStore((s) => s.me?.deviceId);

  const load = () => api.people().then(setPeople, (e) => setError(describeError(e)));
  useEffect(() => void load(), []);

  /** Runs a change, then shows the team as it now is (and this device's own role, which the change may have moved). */
  const act = async (change: () => Promise<unknown>) => {
    setError(null);
    try {
      await change();
      await Promise.all([load(), refresh().catch(() => {})]);
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    }
  };
  const inviteDevice = (person: Person) => void act(async () => setInvite(await api.invite(person.id)));

  const shown = (people ?? []).slice().sort((a, b) => Number(!!a.revokedAt) - Number(!!b.revokedAt));
  return (
    <>
      <AppBar back="/" title="People" />
      <main class="page">
        <ErrorNote error={error} />
        {invite && <InviteCode invite={invite} onDone={() => setInvite(null)} />}
        {owner && !invite && <AddPerson onAdded={(added) => { setInvite(added); void load(); }} onError={setError} />}
        <ul class="list">
          {shown.map((p) => (
            <PersonRow key={p.id} person={p} owner={owner} self={p.id === me} act={act} onInvite={() => inviteDevice(p)} />
          ))}
        </ul>
        {owner && <ConnectedNow thisDevice={thisDevice} />}
        {people && <p class="fine">A role can be narrowed in one project (never widened); owners are owners everywhere. A revoked person's devices are refused at once, and what they set going to start later is held until someone confirms it.</p>}
      </main>
    </>
  );
}

function PersonRow({ person: p, owner, self, act, onInvite }: {
  person: Person; owner: boolean; self: boolean; act: (change: () => Promise<unknown>) => Promise<boolean>; onInvite: () => void;
}) {
  const [confirm, setConfirm] = useState(false);
  const devices = p.devices.filter((d) => !d.revokedAt);
  return (
    <li class={`list-row wrap-row person${p.revokedAt ? ' revoked' : ''}`} data-person={p.name}>
      <div class="grow">
        <div><strong>{p.name}</strong> {self && <span class="badge badge-run">You</span>}{' '}
          {!(owner && !p.revokedAt) && <span class="badge" data-role={p.role}>{p.role}</span>}</div>
        <div class="muted small">
          {p.revokedAt ? `Revoked ${timeAgo(p.revokedAt)}`
            : devices.length === 0 ? 'No device paired yet'
            : devices.map((d) => `${d.name}${d.lastSeenAt ? ` (seen ${timeAgo(d.lastSeenAt)})` : ''}`).join(' · ')}
        </div>
        {p.projects.length > 0 && <div class="muted small">Narrowed in {p.projects.length} project{p.projects.length === 1 ? '' : 's'}</div>}
      </div>
      {!p.revokedAt && owner && (
        <select aria-label={`Role of ${p.name}`} value={p.role}
          onChange={(e) => void act(() => api.changeRole(p.id, (e.target as HTMLSelectElement).value))}>
          {ROLES.map((r) => <option key={r} value={r}>{roleName(r)}</option>)}
        </select>
      )}
      {!p.revokedAt && (owner || self) && <button class="btn ghost small" onClick={onInvite}>Add a device</button>}
      {!p.revokedAt && owner && !self && (confirm
        ? <button class="btn danger small" onClick={() => void act(() => api.revokePerson(p.id)).then(() => setConfirm(false))}>Revoke {p.name} and {devices.length === 1 ? 'their device' : `${devices.length} devices`}</button>
        : <button class="btn danger-ghost small" onClick={() => setConfirm(true)}>Revoke…</button>)}
    </li>
  );
}

function AddPerson({ onAdded, onError }: { onAdded: (invite: Invite) => void; onError: (error: string | null) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('approver');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    onError(null);
    try {
      onAdded(await api.addPerson(name.trim(), role));
      setName('');
    } catch (err) {
      onError(describeError(err));
    }
    setBusy(false);
  };
  return (
    <form class="card pad stack" aria-label="Invite a person" onSubmit={submit}>
      <h2>Invite a person</h2>
      <label class="field">
        <span>Name</span>
        <input name="personName" value={name} maxLength={100} required placeholder="e.g. Ana" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span>Role</span>
        <select name="personRole" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
          {ROLES.map((r) => <option key={r} value={r}>{roleName(r)}</option>)}
        </select>
        <span class="muted small" data-testid="role-hint">{ROLE_HINT[role]}</span>
      </label>
      <button class="btn primary block" type="submit" disabled={busy || !name.trim()}>{busy ? 'Inviting…' : 'Invite'}</button>
    </form>
  );
}

/**
 * The one-time code (10 minutes) that pairs a device of the person: typed on their phone's Pair screen, or the link
 * opened there (its code stays in the fragment, never sent to the server), or `/pair CODE` to a chat bot.
 */
function InviteCode({ invite, onDone }: { invite: Invite; onDone: () => void }) {
  const link = `${location.origin}/#pair=${invite.code}`;
  const [copied, setCopied] = useState(false);
  const copy = () => void navigator.clipboard?.writeText(link).then(() => setCopied(true), () => {});
  // The share sheet: dismissing it is no error, and nothing else here can fail it.
  const share = () => void navigator.share({ title: 'Pair with PocketCoder', text: `Pairing code ${invite.code}`, url: link }).catch(() => {});
  return (
    <section class="card pad invite" aria-label="Pairing code" data-testid="invite">
      <h2>Pair {invite.person.name}'s device</h2>
      <p class="muted small">On their phone, scan the code, open the link, or open this app's address and type the code. It works once, until {new Date(invite.expiresAt).toLocaleTimeString()}.</p>
      <code class="code-display" data-testid="invite-code">{invite.code}</code>
      <PairingQr link={link} />
      <p class="fine">Or point their phone's camera at the code.</p>
      <code class="pattern invite-link" data-testid="invite-link">{link}</code>
      <div class="row">
        {canShare() && <button class="btn ghost grow" onClick={share}>Share…</button>}
        <button class="btn ghost grow" onClick={copy}>{copied ? 'Copied' : 'Copy link'}</button>
        <button class="btn primary grow" onClick={onDone}>Done</button>
      </div>
    </section>
  );
}
