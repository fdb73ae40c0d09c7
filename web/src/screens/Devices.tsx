import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Bridge, type Device, type LedgerKey, type Project } from '../api';
import { AppBar, ErrorNote, Icon, timeAgo } from '../components/ui';
import { linkTo } from '../router';
import { acceptSigningKey, checkSigningKey } from '../ledgerWatch';
import { loadHealth, signedOut, useOwner, useStore } from '../store';
import { pairCommand } from '../pairing';
import { ChannelState, NotificationPanel } from './Notifications';
import { ReadAloudSetting } from '../components/ReadAloud';
import { WatchLinksPanel } from '../components/WatchLinks';

export function Devices() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const [bridges, setBridges] = useState<Bridge[]>([]);
  const [projects, setProjects] = useState<Project[]>([]);

  // Their own role, the server's word about them: bridges and others' devices are an owner's.
  const owner = useOwner() === true;
  const myPerson = useStore((s) => s.me?.person.id);
  // Pairing again names the command that works on this machine, as its server says it runs.
  const health = useStore((s) => s.health);
  useEffect(() => void loadHealth(), []);
  // Bridges are the owners' (a bound chat steers a project): others are not asked for them.
  const load = () => Promise.all([
    api.devices().then(setDevices),
    owner ? api.bridges().then(setBridges) : undefined,
    api.projects().then(setProjects),
  ]).catch((e) => setError(describeError(e)));
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
        <nav class="project-tools device-links" aria-label="More">
          <a class="chip-btn" {...linkTo('/costs')}><Icon name="history" size={18} /> Costs</a>
        </nav>
        <NotificationPanel onChange={() => void load()} />
        <ReadAloudSetting />
        {owner && <WatchLinksPanel />}
        <ul class="list">
          {sorted.map((d) => (
            <li key={d.id} class={`list-row device${d.revokedAt ? ' revoked' : ''}`} data-device={d.name}>
              <div class="grow">
                <div><strong>{d.name}</strong> {d.current && <span class="badge badge-run">This device</span>}</div>
                <div class="muted small">
                  {d.revokedAt ? `Revoked ${timeAgo(d.revokedAt)}` : `Paired ${timeAgo(d.createdAt)}${d.lastSeenAt ? ` · seen ${timeAgo(d.lastSeenAt)}` : ''}`}
                </div>
                {/* A phone that added this machine from another machine's app: that app may call this machine while it lives. */}
                {d.appOrigin && <div class="muted small" data-testid="app-origin">Added from the app at {d.appOrigin}</div>}
                {d.bridge && <div class="muted small">Linked via {d.bridge.bridgeId === d.bridge.platform ? d.bridge.platform : `${d.bridge.bridgeId} (${d.bridge.platform})`} as {d.bridge.userName} · user {d.bridge.userId}</div>}
                {d.notifications.map((c) => <ChannelState key={c.kind} channel={c} />)}
              </div>
              {!d.revokedAt && (owner || d.personId === myPerson) && (confirm === d.id
                ? <button class="btn danger small" onClick={() => void revoke(d)}>{d.current ? 'Sign out' : 'Revoke'}</button>
                : <button class="btn danger-ghost small" onClick={() => setConfirm(d.id)}>Revoke…</button>)}
            </li>
          ))}
        </ul>
        {devices && <p class="fine">A revoked device is refused on its very next request, and what it set going to start later (schedules, waiting tasks, queued messages) is held until you confirm it. Pair again with <code>{pairCommand(health)}</code>.</p>}
        {bridges.length > 0 && <Bridges bridges={bridges} projects={projects} onChange={() => void load()} onError={setError} />}
        <LedgerKeyCard />
      </main>
    </>
  );
}

/** The fingerprint an auditor checks this machine's ledger exports against: read here, away from the export file. */
function LedgerKeyCard() {
  const [key, setKey] = useState<LedgerKey | null>(null);
  const [warning, setWarning] = useState<string | null>(null);
  useEffect(() => {
    api.ledgerKey().then((k) => {
      setKey(k);
      setWarning(checkSigningKey(k.fingerprint, localStorage));
    }, () => {});
  }, []);
  if (!key) return null;
  const accept = () => {
    acceptSigningKey(key.fingerprint, localStorage);
    setWarning(null);
  };
  return (
    <section class="card pad ledger-key" aria-label="Ledger signing key">
      <h2>Ledger signing key</h2>
      <code class="fingerprint" data-fingerprint>{key.fingerprint}</code>
      {warning && <>
        <p class="error-note" role="alert">{warning}</p>
        <button class="btn small" onClick={accept}>I replaced it: trust this key</button>
      </>}
      <p class="muted small">An auditor checks this machine's ledger exports (<code>pocketcoder ledger export</code>) against this fingerprint,
        with <code>pocketcoder ledger verify --export FILE --key</code> and the fingerprint. Give it to them from here, not with the file.</p>
    </section>
  );
}

const STATE_LABEL: Record<Bridge['state'], string> = { connecting: 'Connecting', connected: 'Connected', failing: 'Failing', stopped: 'Stopped' };

/**
 * Chats where a linked person wrote but that steer nothing yet: pick a project and bind one from here (the chat is told,
 * and revoking this device unbinds it again).
 */
function UnboundChats({ bridge, projects, onChange, onError }: { bridge: Bridge; projects: Project[]; onChange: () => void; onError: (e: string) => void }) {
  const unbound = bridge.chats.filter((c) => !c.projectId);
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const first = projects[0];
  if (unbound.length === 0 || !first) return null;
  const bind = async (chatId: string) => {
    setBusy(chatId);
    try {
      await api.bindChat(bridge.id, chatId, chosen[chatId] ?? first.id);
      onChange();
    } catch (e) {
      onError(describeError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <h3 class="small">Chats to bind</h3>
      <ul class="list">
        {unbound.map((c) => (
          <li key={c.chatId} class="list-row wrap-row" data-unbound-chat={c.chatTitle}>
            <div class="grow">{c.chatTitle} <span class="muted small">{c.direct ? 'direct chat' : 'group'}</span>
              <div class="muted small">{c.lastUserName} wrote {timeAgo(c.lastSeenAt)}</div></div>
            <select aria-label={`Project for ${c.chatTitle}`} value={chosen[c.chatId] ?? first.id} disabled={busy !== null}
              onChange={(e) => setChosen({ ...chosen, [c.chatId]: (e.target as HTMLSelectElement).value })}>
              {projects.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
            <button class="btn small" disabled={busy !== null} onClick={() => void bind(c.chatId)}>Bind</button>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The chat bridges: whether each reaches its platform, who it ignored, and which chats steer which project (bound and unbound here). */
function Bridges({ bridges, projects, onChange, onError }: { bridges: Bridge[]; projects: Project[]; onChange: () => void; onError: (e: string) => void }) {
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? id;
  const unbind = async (bridge: Bridge, chatId: string) => {
    try {
      await api.unbindChat(bridge.id, chatId);
      onChange();
    } catch (e) {
      onError(describeError(e));
    }
  };
  return (
    <section class="card pad" aria-label="Chat bridges">
      <h2>Chat bridges</h2>
      {bridges.map((b) => (
        <div key={b.id} class="bridge" data-bridge={b.id}>
          <div>
            <strong>{b.id}</strong> <span class="muted small">{b.platform}{b.botName ? ` · ${b.botName}` : ''}</span>{' '}
            <span class={`badge ${b.state === 'connected' ? 'badge-run' : b.state === 'failing' ? 'badge-bad' : 'badge-int'}`}>{STATE_LABEL[b.state]}</span>
          </div>
          {b.problem && <div class="muted small">{b.problem}</div>}
          {b.ignored > 0 && <div class="muted small">Ignored {b.ignored} message{b.ignored === 1 ? '' : 's'} from people not linked.</div>}
          <ul class="list">
            {b.channels.map((c) => (
              <li key={c.chatId} class="list-row" data-chat={c.chatTitle}>
                <div class="grow">{c.chatTitle} → <strong>{projectName(c.projectId)}</strong>
                  <div class="muted small">bound by {c.boundBy} {timeAgo(c.boundAt)}</div></div>
                <button class="btn danger-ghost small" onClick={() => void unbind(b, c.chatId)}>Unbind</button>
              </li>
            ))}
          </ul>
          {b.channels.length === 0 && <p class="muted small">No chat is bound yet: bind one below, or send the bot <code>/bind PROJECT</code> in a group.</p>}
          <UnboundChats bridge={b} projects={projects} onChange={onChange} onError={onError} />
        </div>
      ))}
    </section>
  );
}
