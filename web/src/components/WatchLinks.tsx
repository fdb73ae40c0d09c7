// Links to watch a session (issue #55): made from a session's actions, listed with who opened them and revoked from
// Devices. Owners only (the decision-rights table's "make, list or revoke a link to watch a session").

import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type WatchLink } from '../api';
import { ErrorNote, timeAgo } from './ui';

const LIFETIMES = [{ hours: 1, label: '1 hour' }, { hours: 24, label: '24 hours' }, { hours: 168, label: '7 days' }];

/** In a session's actions: make a link, then copy it (its secret is shown this once). */
export function ShareWatch({ sessionId }: { sessionId: string }) {
  const [hours, setHours] = useState(24);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const make = async () => {
    setError(null);
    try {
      const made = await api.createWatchLink(sessionId, hours);
      setUrl(new URL(made.url, location.origin).toString());
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <div class="watch-share">
      <ErrorNote error={error} />
      {url ? (
        <>
          <p class="muted small">Anyone with this link can watch this session, read-only, until it expires or you revoke it (Devices → Watch links).</p>
          <input class="watch-url" readOnly value={url} data-testid="watch-link-url" aria-label="Watch link" onFocus={(e) => e.currentTarget.select()} />
          <button class="btn ghost block" onClick={() => void navigator.clipboard?.writeText(url)}>Copy link</button>
        </>
      ) : (
        <div class="row">
          <label class="field grow"><span>Works for</span>
            <select name="watch-hours" value={String(hours)} onChange={(e) => setHours(Number(e.currentTarget.value))}>
              {LIFETIMES.map((l) => <option key={l.hours} value={String(l.hours)}>{l.label}</option>)}
            </select>
          </label>
          <button class="btn primary" onClick={() => void make()}>Make link</button>
        </div>
      )}
    </div>
  );
}

/** Devices: the links still working, who opened each (when, from where, in what browser), and Revoke. */
export function WatchLinksPanel() {
  const [links, setLinks] = useState<WatchLink[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api.watchLinks().then(setLinks, (e: unknown) => setError(describeError(e)));
  useEffect(() => void load(), []);
  if (!links || links.length === 0) return null;
  return (
    <section class="card pad" data-testid="watch-links">
      <h2>Watch links</h2>
      <ErrorNote error={error} />
      {links.map((link) => (
        <div key={link.id} class="watch-link" data-testid="watch-link" data-link={link.id}>
          <div class="row">
            <strong class="grow">{link.sessionTitle || 'Session'}</strong>
            <button class="btn danger-ghost small" onClick={() => void api.revokeWatchLink(link.id).then(load, (e: unknown) => setError(describeError(e)))}>Revoke</button>
          </div>
          <div class="muted small">By {link.createdBy} · expires {new Date(link.expiresAt).toLocaleString()}</div>
          <div class="muted small" data-testid="watch-openings">
            {link.openings.length === 0 ? 'Not opened yet.'
              : `Opened ${link.openings.length} time${link.openings.length === 1 ? '' : 's'}: `
                + link.openings.map((o) => `${timeAgo(o.openedAt)}${o.address ? ` from ${o.address}` : ''}${o.userAgent ? ` (${o.userAgent.slice(0, 40)})` : ''}`).join('; ')}
          </div>
        </div>
      ))}
    </section>
  );
}
