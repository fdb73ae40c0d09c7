import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type NotificationChannel, type NotificationSettings, type NotificationsState } from '../api';
import { ErrorNote, timeAgo } from '../components/ui';
import { disablePush, enablePush, pushSupport } from '../push';

/** One channel's health in a line: when it last worked, or how it last failed. */
export function ChannelState({ channel }: { channel: NotificationChannel }) {
  const name = channel.kind === 'web_push' ? 'Push' : `ntfy (${channel.host})`;
  const failing = channel.failures > 0;
  const text = failing
    ? `${name}: failing — ${channel.lastError ?? `status ${channel.lastStatus}`} (${timeAgo(channel.lastAttemptAt)})`
    : channel.lastSuccessAt ? `${name}: last delivered ${timeAgo(channel.lastSuccessAt)}` : `${name}: on, nothing sent yet`;
  return <div class={`channel-state${failing ? ' failing' : ''}`} data-channel={channel.kind}>{text}</div>;
}

const EVENTS: { key: 'turnFinished' | 'sessionFailed' | 'commandFinished' | 'timeoutApproaching'; label: string }[] = [
  { key: 'turnFinished', label: 'A turn finished' },
  { key: 'sessionFailed', label: 'A session failed or stalled' },
  { key: 'timeoutApproaching', label: 'An approval is about to time out' },
  { key: 'commandFinished', label: 'A command I ran finished' },
];

/** This device's notifications: push (asked for here, on a tap), ntfy, what notifies, how much it says, quiet hours. */
export function NotificationPanel({ onChange }: { onChange: () => void }) {
  const [state, setState] = useState<NotificationsState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [topic, setTopic] = useState('');
  const [token, setToken] = useState('');

  const load = () => api.notifications().then(setState, (e) => setError(describeError(e)));
  useEffect(() => void load(), []);

  const run = async (work: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await work();
      if (done) setNote(done);
      await load();
      onChange();
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  if (!state) return <section class="notify" aria-busy="true"><ErrorNote error={error} /></section>;
  const push = state.channels.find((c) => c.kind === 'web_push');
  const ntfy = state.channels.find((c) => c.kind === 'ntfy');
  const support = pushSupport();
  const save = (patch: Partial<NotificationSettings>) => run(() => api.saveNotificationSettings({ ...state.settings, ...patch }));
  const quiet = state.settings.quietHours;

  const test = () => run(async () => {
    const results = await api.testNotification();
    const failed = results.filter((r) => r.outcome !== 'sent');
    if (failed.length) throw new Error(failed.map((r) => `${r.channel === 'web_push' ? 'Push' : 'ntfy'}: ${r.detail ?? r.outcome}`).join('; '));
  }, 'Test notification sent.');

  return (
    <section class="notify" aria-label="Notifications on this device">
      <h2>Notifications on this device</h2>
      <ErrorNote error={error} />
      {note && <p class="muted small" role="status">{note}</p>}

      {push ? <ChannelState channel={push} /> : <p class="muted small">Get a notification when an agent asks you something, even with the app closed.</p>}
      <div class="row">
        {support === 'supported' && !push && (
          <button class="btn primary" disabled={busy} onClick={() => void run(() => enablePush(state.vapidPublicKey), 'Notifications are on.')}>Turn on notifications</button>
        )}
        {push && <button class="btn ghost" disabled={busy} onClick={() => void run(disablePush)}>Turn off</button>}
        {state.channels.length > 0 && <button class="btn ghost" disabled={busy} onClick={() => void test()}>Send a test notification</button>}
      </div>
      {support === 'needs-install' && <p class="fine">On iPhone and iPad, add PocketCoder to the Home Screen first (Share → Add to Home Screen), open it from there, then turn notifications on here.</p>}
      {support === 'unsupported' && <p class="fine">This browser cannot receive push notifications. An ntfy topic works instead.</p>}

      <fieldset>
        <legend>What a notification says</legend>
        <label class="choice">
          <input type="radio" name="content" checked={state.settings.content === 'summary'} disabled={busy} onChange={() => void save({ content: 'summary' })} />
          What the agent wants to do, with Allow once / Deny
        </label>
        <label class="choice">
          <input type="radio" name="content" checked={state.settings.content === 'private'} disabled={busy} onChange={() => void save({ content: 'private' })} />
          Only "an approval is waiting" (for a lock screen others see)
        </label>
      </fieldset>

      <fieldset>
        <legend>Also tell me when</legend>
        {EVENTS.map((e) => (
          <label class="choice" key={e.key}>
            <input type="checkbox" checked={state.settings[e.key]} disabled={busy} onChange={(ev) => void save({ [e.key]: ev.currentTarget.checked })} />
            {e.label}
          </label>
        ))}
      </fieldset>

      <fieldset>
        <legend>Quiet hours</legend>
        <label class="choice">
          <input type="checkbox" checked={!!quiet} disabled={busy} onChange={(ev) => void save({
            quietHours: ev.currentTarget.checked ? { start: '22:00', end: '07:00', timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } : null,
          })} />
          Deliver without sound
        </label>
        {quiet && (
          <div class="row">
            <input type="time" aria-label="Quiet from" value={quiet.start} disabled={busy} onChange={(ev) => void save({ quietHours: { ...quiet, start: ev.currentTarget.value } })} />
            <span>to</span>
            <input type="time" aria-label="Quiet until" value={quiet.end} disabled={busy} onChange={(ev) => void save({ quietHours: { ...quiet, end: ev.currentTarget.value } })} />
            <span class="muted small">{quiet.timeZone}</span>
          </div>
        )}
      </fieldset>

      <fieldset>
        <legend>ntfy</legend>
        {ntfy ? (
          <div class="row">
            <ChannelState channel={ntfy} />
            <button class="btn ghost" disabled={busy} onClick={() => void run(api.removeNtfy)}>Remove</button>
          </div>
        ) : !state.offers.ntfy ? (
          <p class="fine">An owner chooses the ntfy server notifications are published to; ask one to add a topic for this device.</p>
        ) : (
          <form class="row" onSubmit={(ev) => { ev.preventDefault(); void run(() => api.setNtfy(topic.trim(), token.trim()), 'ntfy topic saved.'); }}>
            <input type="url" placeholder="https://ntfy.sh/your-secret-topic" aria-label="ntfy topic URL" value={topic} onInput={(ev) => setTopic(ev.currentTarget.value)} required />
            <input type="password" placeholder="Access token (optional)" aria-label="ntfy access token" value={token} onInput={(ev) => setToken(ev.currentTarget.value)} />
            <button class="btn ghost" disabled={busy || !topic.trim()}>Save</button>
          </form>
        )}
      </fieldset>
    </section>
  );
}
