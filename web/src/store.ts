// App-wide state: who we are (paired or not), whether we are online, and the dashboard (projects, sessions,
// pending approvals) kept live by /api/events. Screens subscribe with useStore.

import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api, ApiError, NetworkError, setUnauthorizedHandler, type Health, type Me, type Project, type Session } from './api';
import { checkLedger } from './ledgerWatch';
import { offlineStore } from './offline';
import { clearOutbox } from './outbox';
import { ResumableStream, type StreamState } from './events';
import { reduceDashboard, type Dashboard } from './dashboard';
import { splitPending, withListedPending } from './offers';
import { startMachines, stopMachines, type MachineView } from './machines';

export interface AppState {
  auth: 'unknown' | 'paired' | 'unpaired';
  online: boolean;
  stream: StreamState;
  projects: Project[];
  board: Dashboard;
  health?: Health;
  /**
   * Who this device is (its person and own role), from /api/people/me: what needs no project (People, Devices, adding a
   * project) is offered by that role; everything in a project by the project's, session's or approval's `offers`.
   */
  me?: Me;
  /** Why this phone was signed out, in the server's words (a revoked device: ask an owner to invite you again). */
  signedOutReason?: string;
  /** Data shown came from the last visit, not the server (offline start). */
  stale: boolean;
  loaded: boolean;
  /** Set when the machine's ledger no longer contains what this phone saw (see ledgerWatch.ts). */
  ledgerWarning?: string | null;
  /** A new version of the app took over this page's service worker: the page runs the old one until reloaded. */
  updateReady?: boolean;
  /** The other machines added to this app (machines.ts), each with its own state; this machine's own is the rest of the state. */
  machines: MachineView[];
}

const CACHE_KEY = 'pocketcoder.snapshot.v1';
// The agents found installed last time: New session shows them at once and asks again behind (the server's probe of
// every CLI takes a second or two when cold). Which agents are installed is no secret; it goes with the pairing all the same.
const HEALTH_KEY = 'pocketcoder.health.v1';

let state: AppState = {
  auth: 'unknown',
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  stream: 'connecting',
  projects: [],
  board: { sessions: {}, pending: {} },
  stale: false,
  loaded: false,
  machines: [],
};
const listeners = new Set<() => void>();

export function getState(): AppState {
  return state;
}

export function setState(patch: Partial<AppState>): void {
  state = { ...state, ...patch };
  listeners.forEach((l) => l());
}

/**
 * Re-renders on every store change; the selector runs at render time, so it may close over props.
 * Subscribes right after the first render (layout effect) and catches up on any change made between that
 * render and the subscription: boot() starts straight after render(), and on a fast network its first
 * answer could otherwise land before anyone listened, leaving the app on its splash screen for good.
 */
export function useStore<T>(select: (s: AppState) => T): T {
  const [, setVersion] = useState(0);
  const renderedWith = state;
  useLayoutEffect(() => {
    const update = () => setVersion((v) => v + 1);
    listeners.add(update);
    if (state !== renderedWith) update();
    return () => void listeners.delete(update);
  }, []);
  return select(state);
}

let dashboard: ResumableStream | undefined;

/** How many calls wait for this person on every machine the app holds (the badge's and the tab's count). */
export const waitingForYou = (s: AppState): number =>
  s.machines.reduce((n, m) => n + splitPending(m.board.pending).mine.length, splitPending(s.board.pending).mine.length);

/** Whether the machine answers: the network is up and the live stream is not waiting to reconnect. */
export const reachable = (s: AppState): boolean => s.online && s.stream !== 'waiting';

// The server pushes nothing to a device that is looking at the app (it already shows the question), so it must know:
// "visible" on open and every minute while it stays so, "hidden" as the page goes away (keepalive outlives the page).
const PRESENCE_EVERY_MS = 60_000;
let presenceTimer: number | undefined;

function reportPresence(): void {
  if (state.auth !== 'paired') return;
  const visible = document.visibilityState === 'visible';
  void api.presence(visible).catch(() => {});
  window.clearInterval(presenceTimer);
  if (visible) presenceTimer = window.setInterval(() => void api.presence(true).catch(() => {}), PRESENCE_EVERY_MS);
}

/** Decides where the app starts: paired (load the dashboard), not paired (the pair screen), or offline. */
export async function boot(): Promise<void> {
  setUnauthorizedHandler((reason) => {
    // A phone that was paired here is told why it no longer is (revoked: whom to ask); a new one just pairs.
    if (state.auth !== 'unpaired') signedOut(wasPaired() ? reason : undefined);
  });
  window.addEventListener('online', () => {
    setState({ online: true });
    // The browser says "online" before the server is reachable again (captive portals, a flapping radio): a failure
    // here only means still offline, which refresh has already said, never an unhandled rejection.
    if (state.auth === 'paired') void refresh().catch(() => {});
  });
  window.addEventListener('offline', () => setState({ online: false }));
  document.addEventListener('visibilitychange', reportPresence);
  window.addEventListener('pagehide', () => void api.presence(false).catch(() => {}));
  try {
    await refresh();
    startAddedMachines();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'UNAUTHORIZED') return;
    if (e instanceof NetworkError) {
      restoreSnapshot();
      // This machine does not answer; the others may.
      startAddedMachines();
      return;
    }
    throw e;
  }
}

const startAddedMachines = () => startMachines({ get: () => state.machines, set: (machines) => setState({ machines }), storage: localStorage });

/** Loads projects, sessions and pending approvals; starts the live dashboard stream once paired. */
export async function refresh(): Promise<void> {
  try {
    // Who we are comes with the rest (one more small request, in parallel); without it the app offers everything, as the
    // server still refuses what the role may not do.
    const [projects, sessions, pending, me] = await Promise.all([
      api.projects(), api.sessions(), api.approvals('pending'), api.me().catch((e: unknown) => (e instanceof ApiError ? undefined : Promise.reject(e))),
    ]);
    const board: Dashboard = {
      sessions: Object.fromEntries(sessions.map((s) => [s.id, s])),
      pending: Object.fromEntries(pending.map((a) => [a.id, { approvalId: a.id, sessionId: a.sessionId, createdAt: a.createdAt, listed: a }])),
    };
    setState({ auth: 'paired', projects, board, online: true, stale: false, loaded: true, me: me ?? state.me });
    saveSnapshot();
    startDashboard();
    void checkLedger({ head: api.ledgerHead, entry: api.ledgerEntry }, localStorage)
      .then((ledgerWarning) => setState({ ledgerWarning }), () => {});
  } catch (e) {
    if (e instanceof NetworkError) setState({ online: false });
    throw e;
  }
}

/**
 * The dashboard stream's notices (sent without an id, never stored), by kind: what the file watcher reports (paths
 * relative to the project, changed on disk, in batches) and that a project's backlog or schedules changed.
 */
export interface Notices {
  'file.changed': { projectId: string; seq: number; paths: string[]; truncated: boolean };
  'backlog.changed': { projectId: string };
}
const noticeListeners: { [K in keyof Notices]: Set<(notice: Notices[K]) => void> } = {
  'file.changed': new Set(),
  'backlog.changed': new Set(),
};

/** Calls `listener` for each notice of that kind while the dashboard stream is up; returns the unsubscribe. */
export function onNotice<K extends keyof Notices>(kind: K, listener: (notice: Notices[K]) => void): () => void {
  const listeners = noticeListeners[kind] as Set<(notice: Notices[K]) => void>;
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const tellListeners = (kind: keyof Notices) => (data: Record<string, unknown>) =>
  (noticeListeners[kind] as Set<(notice: unknown) => void>).forEach((listen) => listen(data));

function startDashboard(): void {
  if (dashboard) return;
  dashboard = new ResumableStream({
    url: '/api/events',
    tail: true,
    ephemeral: { 'file.changed': tellListeners('file.changed'), 'backlog.changed': tellListeners('backlog.changed') },
    onState: (stream) => setState({ stream }),
    onOpen: () => {
      setState({ online: true });
      reportPresence();
      // Whatever changed while we were away: the snapshot is cheap, the stream only adds what is new.
      if (state.stale || dashboard?.lastId) void refresh().catch(() => {});
    },
    onEvents: (events) => {
      let board = state.board;
      let unknown = false;
      for (const event of events) {
        if (event.kind === 'session.status' && !board.sessions[event.data.sessionId]) unknown = true;
        board = reduceDashboard(board, event);
      }
      if (board !== state.board) setState({ board });
      // Events carry no offers: what this person may do with a new call, or one whose votes changed (their own allow
      // changes it), is asked of the server, and the buzz waits for that answer.
      if (events.some((e) => REOFFERED.has(e.kind))) reloadPending();
      if (unknown) void refresh().catch(() => {}); // a session started elsewhere
    },
  });
}

/** The dashboard kept by an earlier visit: this phone was paired here. */
const wasPaired = (): boolean => state.auth === 'paired' || localStorage.getItem(CACHE_KEY) !== null;

const REOFFERED = new Set(['approval.requested', 'approval.vote', 'approval.escalated']);
let reloading = false;
let reloadAgain = false;

/**
 * Asks the approvals list again for what this person may do with each pending call (folded in by `withListedPending`);
 * asked while a list is on its way, once more after it. A call that newly waits for them buzzes the phone (not iOS).
 */
export function reloadPending(): void {
  if (reloading) {
    reloadAgain = true;
    return;
  }
  reloading = true;
  void (async () => {
    try {
      do {
        reloadAgain = false;
        const listed = await api.approvals('pending');
        const before = splitPending(state.board.pending).mine;
        const pending = withListedPending(state.board.pending, listed);
        if (pending === state.board.pending) continue;
        setState({ board: { ...state.board, pending } });
        const asked = splitPending(pending).mine.some((p) => !before.some((b) => b.approvalId === p.approvalId));
        if (asked && document.visibilityState === 'visible') navigator.vibrate?.(200);
      } while (reloadAgain);
    } catch {
      // Unreachable: the next connection's refresh lists them all again.
    } finally {
      reloading = false;
    }
  })();
}

export function signedOut(reason?: string): void {
  dashboard?.close();
  dashboard = undefined;
  // The other machines' tokens go too: a phone signed out here is one its owner lost or gave up (docs/security.md).
  stopMachines(true);
  localStorage.removeItem(CACHE_KEY);
  localStorage.removeItem(HEALTH_KEY);
  // Unpaired or revoked: the transcripts kept for offline reading go too (they can hold code and secrets).
  void offlineStore().clear();
  clearOutbox();
  setState({ auth: 'unpaired', projects: [], board: { sessions: {}, pending: {} }, loaded: true, me: undefined, signedOutReason: reason });
}

/**
 * The newer of two answers about a thing, keeping the older one's offers when the newer has none: the answers to a change
 * (starting, stopping, archiving a session; changing a project) do not carry them.
 */
export const keepOffers = <T extends { offers?: unknown }>(known: T | undefined | null, next: T): T =>
  next.offers == null && known?.offers != null ? { ...next, offers: known.offers } : next;

export function upsertSession(session: Session): void {
  const sessions = state.board.sessions;
  setState({ board: { ...state.board, sessions: { ...sessions, [session.id]: keepOffers(sessions[session.id], session) } } });
}

/** A project as a change answered it (its offers kept when the answer has none). */
export function upsertProject(project: Project): void {
  setState({ projects: state.projects.map((p) => (p.id === project.id ? keepOffers(p, project) : p)) });
}

/**
 * The project from the store, and asked again when a screen of it opens: what the caller may do there (its `offers`)
 * changes with the team policy, their role and their membership, none of which the event stream tells.
 */
export function useProject(projectId: string): Project | undefined {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  useEffect(() => {
    api.project(projectId).then(upsertProject, () => {});
  }, [projectId]);
  return project;
}

export async function loadHealth(): Promise<Health | undefined> {
  if (!state.health) {
    try {
      const remembered = JSON.parse(localStorage.getItem(HEALTH_KEY) ?? 'null') as Health | null;
      if (remembered && Array.isArray(remembered.agents)) setState({ health: remembered });
    } catch {
      // Nothing usable remembered: the answer below fills it in.
    }
  }
  try {
    const health = await api.health();
    setState({ health });
    try {
      localStorage.setItem(HEALTH_KEY, JSON.stringify(health));
    } catch {
      // Storage full or disabled: the next visit waits for the answer.
    }
    return health;
  } catch {
    return state.health;
  }
}

// The last dashboard is kept so that a reload without network still shows the shell with something in it.
// It holds names and statuses only: never a token (the cookie is HttpOnly and script never sees it).
function saveSnapshot(): void {
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify({ projects: state.projects, sessions: state.board.sessions }));
  } catch {
    // Storage full or disabled: offline start just shows less.
  }
}

function restoreSnapshot(): void {
  let snapshot: { projects?: Project[]; sessions?: Record<string, Session> } = {};
  try {
    snapshot = JSON.parse(localStorage.getItem(CACHE_KEY) ?? '{}') as typeof snapshot;
  } catch {
    snapshot = {};
  }
  const known = Array.isArray(snapshot.projects);
  setState({
    auth: known ? 'paired' : 'unknown',
    online: false,
    stale: true,
    loaded: true,
    projects: snapshot.projects ?? [],
    board: { sessions: snapshot.sessions ?? {}, pending: {} },
  });
  // Keep trying: the stream's reconnect (online / visible) brings fresh data and clears `stale`.
  if (known) startDashboard();
}

/**
 * Whether this device's person is an owner, by their own role as /api/people/me says (the server's word about them): what
 * needs no project — adding one, the team's bridges, revoking another person's device — is an owner's. Undefined until known.
 */
export function useOwner(): boolean | undefined {
  const role = useStore((s) => s.me?.person.role);
  return role === undefined ? undefined : role === 'owner';
}
