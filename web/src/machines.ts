// The other machines this app was added to (one inbox across machines, docs/reach.md): each paired on its own from here
// with a pairing link or code of that machine, holding its own device token, kept under this app's origin. Each has its
// own client (bearer token, its origin), its own live stream resuming by its own cursor, and its own state: one that does
// not answer is "offline" while the rest go on; one that refuses the token was revoked there, and only there.

import { api as homeApi, ApiError, createApi, describeError, NetworkError, type Api, type Paired, type Project } from './api';
import { ResumableStream } from './events';
import { reduceDashboard, type Dashboard } from './dashboard';
import { machineEnvironment } from './fetchStream';
import { splitPending, withListedPending } from './offers';
import { keepForWorker } from './workerKeys';

/** An added machine as kept on this phone: where it is, what it is called here, and this phone's device token there. */
export interface Machine {
  id: string;
  name: string;
  /** Its web origin (`https://laptop.example`, `http://192.168.1.5:7420`): where its API is called, cross-origin. */
  origin: string;
  /** Its badge's colour, from {@link BADGE_COLORS}. */
  color: string;
  deviceId: string;
  token: string;
  addedAt: string;
  /** The push relay on this app's own machine through which that machine notifies this phone ("Notify me from this machine"). */
  relayId?: string;
}

export type MachineStatus = 'connecting' | 'online' | 'offline' | 'revoked';

/** An added machine as the screens see it: what it is, whether it answers, and its sessions and pending calls. */
export interface MachineView {
  machine: Machine;
  status: MachineStatus;
  projects: Project[];
  board: Dashboard;
  /** Its words when it refused this phone (revoked there), or why it cannot be reached. */
  reason?: string;
}

/** Badge colours, given in turn; this machine's own is the first. */
export const BADGE_COLORS = ['#2f7d6d', '#7a4fc9', '#c2562b', '#2a6fb8', '#a8326e', '#6b7a1f'];
export const STORAGE_KEY = 'pocketcoder.machines.v1';

/**
 * What the owner pasted: the other machine's pairing link (`https://b.example/#pair=CODE`), or its address and the code
 * given apart. The code stays in the fragment of a link, which no server ever receives; only the origin is kept.
 */
export function parseMachineLink(link: string, code?: string): { origin: string; code: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    return { error: 'That is not an address: paste the pairing link of the other machine (it starts with https:// or http://).' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: 'The address must start with https:// or http://.' };
  const linked = /^#pair=([A-Za-z0-9 -]{4,20})$/.exec(url.hash)?.[1];
  const given = code?.trim() || linked;
  if (!given) return { error: 'Give the pairing code too: on the other machine run its pair command (the line its `serve` printed names it), or invite a device from its Devices screen.' };
  return { origin: url.origin, code: given };
}

/** The machines kept, or none when nothing (or something unreadable) is kept. */
export function loadMachines(storage: Pick<Storage, 'getItem'>): Machine[] {
  try {
    const kept = JSON.parse(storage.getItem(STORAGE_KEY) ?? '[]') as unknown;
    return Array.isArray(kept) ? kept.filter((m): m is Machine => !!m && typeof m.origin === 'string' && typeof m.token === 'string' && typeof m.id === 'string') : [];
  } catch {
    return [];
  }
}

export function saveMachines(storage: Pick<Storage, 'setItem'>, machines: readonly Machine[]): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(machines));
}

/** The list with a machine added; pairing the same origin again replaces the earlier entry (its old token is dead there or soon will be). */
export function withMachine(machines: readonly Machine[], added: Machine): Machine[] {
  return [...machines.filter((m) => m.origin !== added.origin), added];
}

/** The next badge colour: the first not in use (the home machine holds the first), else round again. */
export function nextColor(machines: readonly Machine[]): string {
  const used = new Set(machines.map((m) => m.color));
  return BADGE_COLORS.slice(1).find((c) => !used.has(c)) ?? BADGE_COLORS[1 + (machines.length % (BADGE_COLORS.length - 1))]!;
}

/** A machine's name from its origin when the owner gives none: its host, without the port when it is the scheme's own. */
export const defaultName = (origin: string): string => new URL(origin).host;

/**
 * The state of one machine after its snapshot: sessions and pending calls keyed as on that machine (ids are per machine;
 * a screen always pairs an id with its machine).
 */
export function boardOf(sessions: { id: string }[], pending: { id: string; sessionId: string; createdAt: string }[]): Dashboard {
  return {
    sessions: Object.fromEntries(sessions.map((s) => [s.id, s])) as Dashboard['sessions'],
    pending: Object.fromEntries(pending.map((a) => [a.id, { approvalId: a.id, sessionId: a.sessionId, createdAt: a.createdAt, listed: a as never }])),
  };
}

type Pair = (origin: string, code: string, deviceName: string) => Promise<Paired>;

/** Pairs with the other machine from here: its pairing endpoint, cross-origin, answers with this phone's token there in the body. */
export const pairRemotely: Pair = (origin, code, deviceName) => createApi({ baseUrl: origin, onUnauthorized: () => {} }).pair(code, deviceName);

// ---------------------------------------------------------------------------------------------------------------------
// At run time: one live connection per machine.

interface Live { api: Api; refused: (reason: string) => void; stream?: ResumableStream; reloading?: boolean; again?: boolean }

/** The app store's side: where machine views are kept and read (store.ts passes these in, so this file has no cycle). */
export interface MachineHost {
  get(): MachineView[];
  set(views: MachineView[]): void;
  storage: Storage;
}

const live = new Map<string, Live>();
let host: MachineHost | undefined;

/** The client for an item's machine: this machine's own for none, an added one's by id (undefined once removed). */
export function machineApi(id: string): Api | undefined {
  return live.get(id)?.api;
}

function update(id: string, change: (view: MachineView) => MachineView): void {
  if (!host) return;
  host.set(host.get().map((v) => (v.machine.id === id ? change(v) : v)));
}

/** Starts every kept machine: a snapshot each, then its live stream. */
export function startMachines(machineHost: MachineHost): void {
  host = machineHost;
  const machines = loadMachines(machineHost.storage);
  machineHost.set(machines.map((machine) => ({ machine, status: 'connecting', projects: [], board: { sessions: {}, pending: {} } })));
  void keepForWorker(machines);
  for (const machine of machines) connect(machine);
}

function connect(machine: Machine): void {
  // Refused there (this phone's device revoked on that machine): it stops asking, and says so; no other machine is touched.
  const refused = (reason: string) => {
    live.get(machine.id)?.stream?.close();
    update(machine.id, (v) => ({ ...v, status: 'revoked', reason }));
  };
  const entry: Live = { api: createApi({ baseUrl: machine.origin, token: machine.token, onUnauthorized: refused }), refused };
  live.set(machine.id, entry);
  entry.stream = new ResumableStream({
    url: '/api/events',
    tail: true,
    env: machineEnvironment(machine.origin, machine.token, refused),
    onState: (state) => {
      if (state === 'waiting') void unreachable(machine.id, refused);
    },
    // Each (re)connection: the snapshot again, then only what is new.
    onOpen: () => void refreshMachine(machine.id),
    onEvents: (events) => {
      update(machine.id, (v) => ({ ...v, board: events.reduce(reduceDashboard, v.board) }));
      if (events.some((e) => e.kind.startsWith('approval.') || (e.kind === 'session.status' && !host?.get().find((v) => v.machine.id === machine.id)?.board.sessions[e.data.sessionId]))) {
        void refreshMachine(machine.id);
      }
    },
  });
}

/** Its projects, sessions and pending calls (with what this phone's person may do with each), asked again. */
export async function refreshMachine(id: string): Promise<void> {
  const entry = live.get(id);
  if (!entry) return;
  if (entry.reloading) {
    // Asked while an answer is on its way (a call that arrived meanwhile): once more after it.
    entry.again = true;
    return;
  }
  entry.reloading = true;
  try {
    do {
      entry.again = false;
      const [projects, sessions, pending] = await Promise.all([entry.api.projects(), entry.api.sessions(), entry.api.approvals('pending')]);
      let asked = false;
      update(id, (v) => {
        const board = boardOf(sessions, pending);
        const next = withListedPending(board.pending, pending);
        const before = splitPending(v.board.pending).mine;
        asked = splitPending(next).mine.some((p) => !before.some((b) => b.approvalId === p.approvalId));
        return { ...v, status: 'online', reason: undefined, projects, board: { ...board, pending: next } };
      });
      // A call that newly waits for this person buzzes the phone, as one of this machine's does (not iOS).
      if (asked && globalThis.document?.visibilityState === 'visible') navigator.vibrate?.(200);
    } while (entry.again && live.get(id) === entry);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'UNAUTHORIZED') return; // said by onUnauthorized
    if (e instanceof NetworkError) await unreachable(id, entry.refused);
    else update(id, (v) => (v.status === 'revoked' ? v : { ...v, status: 'offline', reason: describeError(e) }));
  } finally {
    entry.reloading = false;
  }
}

const SIGNED_OUT = 'It answers, but no longer to this app: this phone was revoked there. Add it again with a new pairing code.';

/**
 * No answer the app could read: the machine is down or unreachable, or it refused this app's origin (its CORS, once the
 * last device paired from here was revoked there), which a browser reports the same way. Its pairing endpoint answers
 * any origin (the code is its authority), so an empty pairing tells the two apart: a problem back means it is up and
 * refuses this app (signed out there); nothing back means offline.
 */
async function unreachable(id: string, refused: (reason: string) => void): Promise<void> {
  const machine = host?.get().find((v) => v.machine.id === id)?.machine;
  if (!machine) return;
  try {
    await createApi({ baseUrl: machine.origin, onUnauthorized: () => {} }).pair('', '');
  } catch (e) {
    if (e instanceof ApiError) {
      refused(SIGNED_OUT);
      return;
    }
  }
  update(id, (v) => (v.status === 'revoked' ? v : { ...v, status: 'offline' }));
}

/** Pairs this phone with another machine and starts it; the machine's words when it refuses (a wrong or used code). */
export async function addMachine(origin: string, code: string, name: string, deviceName: string, pair: Pair = pairRemotely): Promise<Machine> {
  if (!host) throw new Error('The app has not started yet.');
  if (origin === globalThis.location?.origin) throw new Error('That is this machine: it is already here.');
  const paired = await pair(origin, code, deviceName).catch((e: unknown) => {
    throw pairingFailure(origin, e, globalThis.navigator?.onLine !== false);
  });
  const kept = loadMachines(host.storage);
  const machine: Machine = {
    id: crypto.randomUUID(), name: name.trim() || defaultName(origin), origin, color: nextColor(kept), deviceId: paired.deviceId, token: paired.token,
    addedAt: new Date().toISOString(),
  };
  const replaced = kept.find((m) => m.origin === origin);
  if (replaced) forget(replaced.id);
  if (replaced?.relayId) void homeApi.revokePushRelay(replaced.relayId).catch(() => undefined);
  saveMachines(host.storage, withMachine(kept, machine));
  void keepForWorker(loadMachines(host.storage));
  host.set([...host.get().filter((v) => v.machine.origin !== origin), { machine, status: 'connecting', projects: [], board: { sessions: {}, pending: {} } }]);
  connect(machine);
  return machine;
}

/**
 * What an Add machine that got no answer says. The phone itself is most often online (it shows this app): the address is
 * wrong, its serve is not running, or this phone cannot reach it; "you are offline" sent owners looking at the wrong end.
 */
export function pairingFailure(origin: string, error: unknown, online: boolean): unknown {
  if (!(error instanceof NetworkError)) return error;
  if (!online) return new Error('This phone is offline: add the machine once it is back on a network.');
  return new Error(`No answer from ${origin}. Check the address, that PocketCoder's serve is running there, and that this phone can reach it `
    + '(the same network, its public address, or its hub).');
}

/**
 * Removes a machine from this app: its stream closes and its token is forgotten here. Its device there is revoked too when
 * it still answers (best effort: a machine that is gone keeps a dead device until its owner revokes it there).
 */
export async function removeMachine(id: string): Promise<void> {
  if (!host) return;
  const machine = loadMachines(host.storage).find((m) => m.id === id);
  const entry = live.get(id);
  forget(id);
  saveMachines(host.storage, loadMachines(host.storage).filter((m) => m.id !== id));
  host.set(host.get().filter((v) => v.machine.id !== id));
  await keepForWorker(loadMachines(host.storage));
  // Its notifications stop here too: the relay on this machine is revoked, whether or not it still answers.
  if (machine?.relayId) await homeApi.revokePushRelay(machine.relayId).catch(() => undefined);
  if (machine && entry) await entry.api.revokeDevice(machine.deviceId).catch(() => undefined);
}

/** Records (or, with none, clears) the push relay through which a machine notifies this phone. */
export function setRelay(id: string, relayId: string | undefined): void {
  if (!host) return;
  const machines = loadMachines(host.storage).map((m) => (m.id === id ? { ...m, relayId } : m));
  saveMachines(host.storage, machines);
  host.set(host.get().map((v) => (v.machine.id === id ? { ...v, machine: { ...v.machine, relayId } } : v)));
}

function forget(id: string): void {
  live.get(id)?.stream?.close();
  live.delete(id);
}

/** Closes every machine's stream (this phone signed out of its home machine: the others' tokens go with it). */
export function stopMachines(clear: boolean): void {
  for (const id of [...live.keys()]) forget(id);
  if (clear && host) {
    host.storage.removeItem(STORAGE_KEY);
    host.set([]);
    void keepForWorker([]);
  }
}
