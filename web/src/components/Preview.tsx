import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type ListeningPort, type PreviewGrant } from '../api';
import { ErrorNote } from './ui';

/**
 * What the session serves, on the phone: the ports its sandbox listens on (found by the server, with the process that opened
 * each), each opened in a new tab on the preview origin (never the app's: docs/security.md, "Previews"), and the previews open
 * now, each closed from here. The server writes the link for the route this request came by: directly another port of the
 * app's host, through a hub the preview's own name on the hub (preview.<machine>.<hub domain>, docs/reach.md); the app opens
 * it as given, so a phone on the hub stays on the hub.
 */
export function PreviewPanel({ sessionId }: { sessionId: string }) {
  const [open, setOpen] = useState(false);
  const [ports, setPorts] = useState<ListeningPort[] | null>(null);
  const [sandboxed, setSandboxed] = useState(true);
  const [previews, setPreviews] = useState<PreviewGrant[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setError(null);
    try {
      const [found, opened] = await Promise.all([api.ports(sessionId), api.previews()]);
      setPorts(found.ports);
      setSandboxed(found.sandboxed);
      setPreviews(opened.filter((p) => p.sessionId === sessionId));
    } catch (e) {
      setError(describeError(e));
    }
  };
  useEffect(() => {
    if (open) void load();
  }, [open, sessionId]);

  const openPort = async (port: number) => {
    // The tab is opened now, in the tap (a browser blocks one opened after an await), cut from this page, then sent on.
    const tab = window.open('about:blank', '_blank');
    if (tab) tab.opener = null;
    setBusy(true);
    setError(null);
    try {
      const opened = await api.openPreview(sessionId, port);
      if (tab) tab.location.href = opened.url;
      else window.location.href = opened.url;
      await load();
    } catch (e) {
      tab?.close();
      setError(describeError(e));
    }
    setBusy(false);
  };
  const close = async (preview: string) => {
    setBusy(true);
    try {
      await api.closePreview(preview);
      await load();
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  return (
    <details class="preview-panel" data-testid="preview" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Preview</summary>
      <ErrorNote error={error} />
      {ports === null && !error && <p class="muted small">Looking for servers…</p>}
      {ports !== null && !sandboxed && <p class="muted small">Previews find servers in a session's sandbox; this session runs unsandboxed.</p>}
      {ports !== null && sandboxed && ports.length === 0 && <p class="muted small">Nothing in this session listens on a port now.</p>}
      {ports?.map((p) => (
        <div key={p.port} class="list-row preview-port" data-testid="preview-port" data-port={p.port}>
          <div class="grow">
            <strong>Port {p.port}</strong>
            <p class="muted small mono">{p.commandLine ?? 'a process that ended'}</p>
          </div>
          <button class="btn primary small" disabled={busy} aria-label={`Open port ${p.port}`} onClick={() => void openPort(p.port)}>Open</button>
        </div>
      ))}
      {previews.length > 0 && <p class="muted small">Open previews</p>}
      {previews.map((g) => (
        <div key={g.id} class="list-row preview-open" data-testid="preview-open" data-port={g.port}>
          <div class="grow">
            <strong>Port {g.port}</strong>
            <p class="muted small">opened by {g.openedBy}, until {new Date(g.expiresAt).toLocaleTimeString()}</p>
          </div>
          <button class="btn danger-ghost small" disabled={busy} aria-label={`Close preview of port ${g.port}`} onClick={() => void close(g.id)}>Close</button>
        </div>
      ))}
      <button class="btn ghost small" disabled={busy} onClick={() => void load()}>Look again</button>
    </details>
  );
}
