import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { SessionStatus, ToolKind } from '../api';
import { back as goBack, linkTo, useRoute } from '../router';
import { reachable, useStore, waitingForYou } from '../store';
import { waitingLabel, WAITING_FOR_YOU } from '../offers';

const PATHS: Record<string, string> = {
  back: 'M15 18l-6-6 6-6',
  read: 'M6 3h8l4 4v14H6z M14 3v4h4 M9 12h6 M9 16h6',
  edit: 'M4 20h4L19 9l-4-4L4 16z M13 7l4 4',
  execute: 'M4 5h16v14H4z M8 10l3 2-3 2 M13 15h3',
  fetch: 'M12 3a9 9 0 100 18 9 9 0 000-18z M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18',
  network: 'M5 12h14 M13 6l6 6-6 6 M4 5v14',
  other: 'M5 12h.01 M12 12h.01 M19 12h.01',
  question: 'M12 3a9 9 0 100 18 9 9 0 000-18z M9.5 9.5a2.5 2.5 0 115 0c0 1.5-2.5 2-2.5 3.5 M12 17h.01',
  plan: 'M9 6h11 M9 12h11 M9 18h11 M4 6l1 1 2-2 M4 12l1 1 2-2 M4 18l1 1 2-2',
  folder: 'M3 6h6l2 2h10v11H3z',
  file: 'M6 3h8l4 4v14H6z M14 3v4h4',
  devices: 'M7 3h10v18H7z M11 18h2',
  people: 'M9 11a4 4 0 100-8 4 4 0 000 8z M2 21a7 7 0 0114 0 M16 3a4 4 0 010 8 M18 14a6 6 0 014 7',
  shield: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  plus: 'M12 5v14 M5 12h14',
  send: 'M5 12h14 M13 6l6 6-6 6',
  stop: 'M7 7h10v10H7z',
  chevron: 'M9 6l6 6-6 6',
  check: 'M5 12l5 5 9-10',
  cross: 'M6 6l12 12 M18 6L6 18',
  alert: 'M12 4l9 16H3z M12 10v4 M12 17h.01',
  offline: 'M3 3l18 18 M8.5 16.5a5 5 0 017 0 M5 12.5a10 10 0 0114 0 M12 20h.01',
  trash: 'M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13',
  code: 'M9 8l-4 4 4 4 M15 8l4 4-4 4',
  branch: 'M6 3v12 M18 9a3 3 0 100-6 3 3 0 000 6z M6 21a3 3 0 100-6 3 3 0 000 6z M18 9a9 9 0 01-9 9',
  play: 'M7 4l13 8-13 8z',
  terminal: 'M4 5h16v14H4z M8 10l3 2-3 2 M13 15h3',
  history: 'M4 12a8 8 0 108-8 8 8 0 00-6 2.7 M4 4v3h3 M12 8v4l3 2',
  mic: 'M12 3a3 3 0 00-3 3v6a3 3 0 006 0V6a3 3 0 00-3-3z M5 11a7 7 0 0014 0 M12 18v3',
  attach: 'M20 12l-8 8a5 5 0 01-7-7l9-9a3.5 3.5 0 015 5l-9 9a2 2 0 01-3-3l8-8',
  search: 'M11 4a7 7 0 100 14 7 7 0 000-14z M16 16l5 5',
  inbox: 'M4 13l3-8h10l3 8v6H4z M4 13h5l1 2h4l1-2h5',
};

export function Icon({ name, size = 22, label }: { name: keyof typeof PATHS | ToolKind; size?: number; label?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
      stroke-linecap="round" stroke-linejoin="round" role={label ? 'img' : undefined} aria-label={label} aria-hidden={label ? undefined : 'true'}>
      <path d={PATHS[name] ?? PATHS.other} />
    </svg>
  );
}

const STATUS: Record<SessionStatus, { label: string; tone: string }> = {
  preparing: { label: 'Preparing', tone: 'run' },
  queued: { label: 'In line', tone: 'idle' },
  starting: { label: 'Starting', tone: 'run' },
  running: { label: 'Running', tone: 'run' },
  waiting_approval: { label: 'Waiting for you', tone: 'wait' },
  idle: { label: 'Idle', tone: 'idle' },
  failed: { label: 'Failed', tone: 'bad' },
  stopped: { label: 'Stopped', tone: 'idle' },
  interrupted: { label: 'Interrupted', tone: 'int' },
};

/**
 * A session's status. Waiting on a decision, it says "Waiting for you" only when the server offers this person to allow or
 * answer one of its calls, else whom it waits for in the server's words ("Waiting for an approver or an owner").
 */
export function StatusBadge({ status, sessionId }: { status?: SessionStatus; sessionId?: string }) {
  const waiting = useStore((st) => (status === 'waiting_approval' && sessionId ? waitingLabel(st.board.pending, sessionId) : null));
  const s = status ? STATUS[status] : undefined;
  if (!s) return null;
  const label = waiting ?? (status === 'waiting_approval' ? 'Waiting for a decision' : s.label);
  const tone = status === 'waiting_approval' && label !== WAITING_FOR_YOU ? 'idle badge-others' : s.tone;
  return <span class={`badge badge-${tone}`} data-status={status}><span class="dot" aria-hidden="true" />{label}</span>;
}

export function AppBar({ title, subtitle, back, actions }: { title: ComponentChildren; subtitle?: ComponentChildren; back?: string; actions?: ComponentChildren }) {
  return (
    <header class="appbar">
      {back !== undefined && (
        <button class="icon-btn" aria-label="Back" onClick={() => goBack(back)}>
          <Icon name="back" />
        </button>
      )}
      <div class="appbar-title">
        <h1>{title}</h1>
        {subtitle && <div class="appbar-sub">{subtitle}</div>}
      </div>
      <PendingBadge />
      {actions && <div class="appbar-actions">{actions}</div>}
    </header>
  );
}

/**
 * On every screen, one tap from the inbox: with how many calls wait for this person (the server offers them to allow or
 * answer) when any do, else the inbox's plain icon (what waits on others is there too). Not on the inbox itself.
 */
export function PendingBadge() {
  // Every machine's: the inbox holds them all.
  const count = useStore(waitingForYou);
  const route = useRoute();
  if (route.path === '/inbox') return null;
  if (count === 0) return <a class="icon-btn inbox-link" aria-label="Inbox" {...linkTo('/inbox')}><Icon name="inbox" /></a>;
  const label = `Inbox: ${count} approval${count === 1 ? '' : 's'} waiting for you`;
  return (
    <a class="pending-badge" aria-label={label} title={label} data-pending={count} {...linkTo('/inbox')}>
      <Icon name="inbox" size={18} />
      <span>{count}</span>
    </a>
  );
}

/** Says plainly, on every screen, when the machine cannot be reached: offline, or the live stream is reconnecting. */
export function OfflineBanner() {
  const online = useStore((s) => s.online);
  const up = useStore(reachable);
  if (up) return null;
  return (
    <div class="offline" role="status" data-offline={online ? 'server' : 'network'}>
      <Icon name="offline" size={18} />
      <span>{online ? 'Cannot reach your machine — reconnecting…' : 'Offline — showing what was last loaded'}</span>
    </div>
  );
}

/** A new version of the app is installed and waits for a reload (main.tsx): the owner chooses when, nothing typed is lost. */
export function UpdateBanner() {
  const ready = useStore((s) => s.updateReady === true);
  if (!ready) return null;
  return (
    <div class="update-ready" role="status" data-testid="update-ready">
      <span>A new version of PocketCoder is ready.</span>
      <button type="button" class="btn small" onClick={() => location.reload()}>Reload</button>
    </div>
  );
}

/** The machine's ledger no longer contains what this phone saw: a rewrite the owner must know about. */
export function LedgerWarning() {
  const warning = useStore((s) => s.ledgerWarning);
  if (!warning) return null;
  return <p class="error-note ledger-warning" role="alert">{warning}</p>;
}

export function ErrorNote({ error }: { error?: string | null }) {
  if (!error) return null;
  return <p class="error-note" role="alert">{error}</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function timeAgo(iso?: string | null): string {
  if (!iso) return '';
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

const FOCUSABLE = 'button:not(:disabled), a[href], input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';

/**
 * A sheet over the bottom of the screen, where the thumb is, whatever the page behind it is scrolled to. Modal: focus
 * moves into it and Tab stays inside; Escape or a tap on the dimmed page closes it, and focus goes back where it was.
 */
export function Sheet({ label, onClose, children }: { label: string; onClose: () => void; children: ComponentChildren }) {
  const sheet = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    sheet.current?.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        close.current();
        return;
      }
      if (e.key !== 'Tab' || !sheet.current) return;
      const inside = [...sheet.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
      if (inside.length === 0) return;
      const first = inside[0]!;
      const last = inside[inside.length - 1]!;
      const at = document.activeElement as HTMLElement | null;
      if (!at || !sheet.current.contains(at)) {
        e.preventDefault();
        first.focus();
      } else if (e.shiftKey && at === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && at === last) {
        e.preventDefault();
        first.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <div class="sheet-layer">
      <div class="sheet-backdrop" data-testid="sheet-backdrop" onClick={() => close.current()} />
      <div class="sheet" ref={sheet} role="dialog" aria-modal="true" aria-label={label}>
        <div class="sheet-grip" aria-hidden="true" />
        {children}
      </div>
    </div>
  );
}
