// App-wide state: who we are (paired or not), whether we are online, and the dashboard (projects, sessions,
// pending approvals) kept live by /api/events. Screens subscribe with useStore.

import { useLayoutEffect, useState } from 'preact/hooks';
import { api, ApiError, NetworkError, setUnauthorizedHandler, type Health, type Me, type Project, type Session } from './api';
import { checkLedger } from './ledgerWatch';
import { can, roleIn, type Action, type Role } from './roles';
import { offlineStore } from './offline';
import { reduceDashboard, ResumableStream, type Dashboard, type StreamState } from './events';

export interface AppState {
  auth: 'unknown' | 'paired' | 'unpaired';
  online: boolean;
  stream: StreamState;
  projects: Project[];
  board: Dashboard;
  health?: Health;
  /** Who this device is (its person and role), from /api/people/me: the app offers only what that role may do (roles.ts). */
  me?: Me;
  /** Data shown came from the last visit, not the server (offline start). */
  stale: boolean;
  loaded: boolean;
  /** Set when the machine's ledger no longer contains what this phone saw (see ledgerWatch.ts). */
  ledgerWarning?: string | null;
  /** A new version of the app took over this page's service worker: the page runs the old one until reloaded. */
  updateReady?: boolean;
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
  setUnauthorizedHandler(() => {
    if (state.auth !== 'unpaired') signedOut();
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
  } catch (e) {
    if (e instanceof ApiError && e.code === 'UNAUTHORIZED') return;
    if (e instanceof NetworkError) {
      restoreSnapshot();
      return;
    }
    throw e;
  }
}

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
      pending: Object.fromEntries(pending.map((a) => [a.id, { approvalId: a.id, sessionId: a.sessionId, createdAt: a.createdAt }])),
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
      if (board !== state.board) {
        const asked = Object.keys(board.pending).some((id) => !state.board.pending[id]);
        setState({ board });
        // A new question while the owner is looking: a short buzz where the browser allows it (not iOS).
        if (asked && document.visibilityState === 'visible') navigator.vibrate?.(200);
      }
      if (unknown) void refresh().catch(() => {}); // a session started elsewhere
    },
  });
}

export function signedOut(): void {
  dashboard?.close();
  dashboard = undefined;
  localStorage.removeItem(CACHE_KEY);
  localStorage.removeItem(HEALTH_KEY);
  // Unpaired or revoked: the transcripts kept for offline reading go too (they can hold code and secrets).
  void offlineStore().clear();
  setState({ auth: 'unpaired', projects: [], board: { sessions: {}, pending: {} }, loaded: true, me: undefined });
}

export function upsertSession(session: Session): void {
  setState({ board: { ...state.board, sessions: { ...state.board.sessions, [session.id]: session } } });
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

/** The caller's role in a project (or their own, without one), and their name; both undefined until known. */
export function useCaller(projectId?: string): { role?: Role; name?: string } {
  const person = useStore((s) => s.me?.person);
  return person ? { role: roleIn(person, projectId), name: person.name } : {};
}

/** Whether the caller may do `action` (in the project, where given); everything while their role is not known yet. */
export function useMay(projectId?: string): (action: Action) => boolean {
  const { role } = useCaller(projectId);
  return (action) => role === undefined || can(role, action);
}
