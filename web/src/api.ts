// The one way the app talks to a server: a client typed by the server's OpenAPI document, so every path, parameter
// and body below is checked when the app is built. On this machine (the app's own origin) the session cookie set by
// pairing authenticates every call, so its token is never handled by script; another machine the owner added gets its
// own device token as a bearer (machines.ts, docs/security.md "One inbox across machines").

import createClient from 'openapi-fetch';
import type { components, paths } from './api.gen';

export type SessionStatus = 'preparing' | 'queued' | 'starting' | 'running' | 'waiting_approval' | 'idle' | 'failed' | 'stopped' | 'interrupted';
export type SessionMode = 'ask' | 'plan' | 'accept_edits' | 'trusted';
export type ToolKind = 'read' | 'edit' | 'execute' | 'fetch' | 'mcp' | 'question' | 'network' | 'other';
export type Decision = 'allow_once' | 'allow_session' | 'allow_always' | 'deny';
export type ApprovalStatus = 'pending' | 'decided' | 'cancelled' | 'interrupted';

/** The owner's answer to one question: option labels chosen, and/or their own words. */
export type QuestionAnswer = { selected?: string[]; other?: string };

// Shapes come from the server's OpenAPI document (openapi.json, checked against the running server by
// Api/ApiDocumentTests; `npm run gen:api` turns it into src/api.gen.ts). Here they only get names, and the string
// fields the server keeps to a fixed set get their literal types.
type Schemas = components['schemas'];

export type Health = Schemas['HealthResponse'];
/** The limit on running agents, who waits for a slot, and the memory each running session's process tree holds. */
export type Resources = Schemas['ResourcesResponse'];
export type Paired = Schemas['PairResponse'];
export type Device = Schemas['DeviceResponse'];
export type Bridge = Schemas['BridgeResponse'] & { state: 'connecting' | 'connected' | 'failing' | 'stopped' };
/**
 * What the server will accept from this device's person now (docs/security.md, "Who may do what"): the app offers exactly
 * these, and says the server's `waitingFor` / `steerRefusal` where it offers nothing. Absent: not known (an older answer).
 */
export type ApprovalOffers = Schemas['ApprovalOffers'];
export type SessionOffers = Omit<Schemas['SessionOffers'], 'modes'> & { modes: SessionMode[] };
export type ProjectOffers = Omit<Schemas['ProjectOffers'], 'modes'> & { modes: SessionMode[] };
export type Project = Omit<Schemas['ProjectResponse'], 'offers'> & { offers?: ProjectOffers | null };
export type FolderListing = Schemas['FolderListing'];
export type FolderSuggestion = Schemas['FolderSuggestion'];
export type FolderSuggestions = Schemas['FolderSuggestions'];
export type Profile = Schemas['ProfileResponse'] & { mode: SessionMode | null };
export type AgentModels = Schemas['AgentModelsResponse'];
/** What a profile holds when saved: every field is replaced (null or absent: the session's own default). */
export type ProfileFields = {
  name: string; agent: string; model?: string | null; mode?: SessionMode | null; worktree?: boolean | null; instructions?: string | null;
  /** The project's MCP servers its sessions get, by name; null: every enabled one. */
  mcpServers?: string[] | null;
};
export type McpState = 'enabled' | 'disabled' | 'needs_approval' | 'changed' | 'unusable';
export type McpServer = Schemas['McpServerResponse'] & { state: McpState };
/** A server of the owner's own: a command (stdio) or a URL; env and headers' values are secrets, never shown back. */
export type McpServerFields = { name: string; command?: string; args?: string[]; url?: string; env?: Record<string, string>; headers?: Record<string, string>; enabled?: boolean };
export type Session = Omit<Schemas['SessionResponse'], 'offers'> & { mode: SessionMode; status: SessionStatus; offers?: SessionOffers | null };
export type Approval = Schemas['ApprovalResponse'] & { kind: ToolKind; status: ApprovalStatus; decision: Decision | null };
export type Rule = Schemas['RuleResponse'] & { action: 'allow' | 'deny' | 'ask' };
export type RulePreview = Schemas['RulePreview'];
export type LedgerKey = Schemas['LedgerKeyResponse'];
export type Person = Schemas['PersonResponse'];
export type Me = Schemas['MeResponse'];
export type Invite = Schemas['InviteResponse'];
export type Connections = Schemas['ConnectionsResponse'];
export type Connected = Schemas['ConnectedDeviceResponse'];
export type TeamPolicy = Schemas['TeamPolicyResponse'];
export type BudgetStatus = Schemas['BudgetStatus'];
/** A port a session's sandbox listens on, with the process that opened it (docs/security.md, "Previews"). */
export type ListeningPort = Schemas['ListeningPort'];
export type PreviewGrant = Schemas['PreviewGrant'];
export type BudgetCap = Schemas['BudgetCap'];
export type BudgetUse = Schemas['BudgetUse'];
export type CostReport = Schemas['CostReportResponse'];
export type CostRow = Schemas['CostRow'];
export type WatchLink = Schemas['WatchLink'];
export type WatchedSession = Schemas['WatchedSession'];
type RuleFields = { tool: string; pattern: string; action: Rule['action'] };

// Not in the OpenAPI document: it arrives in `plan` events (docs/api.md, Events).
export interface PlanEntry { content: string; status: string }

export type FileEntry = Schemas['FileEntry'] & { type: 'file' | 'directory' | 'symlink' };
export type DirectoryListing = Schemas['DirectoryListing'] & { entries: FileEntry[] };
export type FileContent = Schemas['FileContent'];

export type GitStatus = Schemas['GitStatusResponse'];
export type GitDiff = Schemas['GitDiffResponse'];
export type GitBranches = Schemas['GitBranchesResponse'];
export type GitLog = Schemas['GitLogResponse'];
export type GitCommitDetail = Schemas['GitCommitDetail'];
export type TurnChanges = Schemas['TurnChanges'];
export type AgentConversation = Schemas['AgentConversationResponse'];
export type HandoffResult = Schemas['HandoffResponse'];
export type SessionWorktreeRecord = Schemas['SessionWorktree'];
export type Worktree = Schemas['WorktreeResponse'];
export type WorktreeDiff = Schemas['WorktreeDiff'];
export type ChangedFile = Schemas['ChangedFile'];
export type RewindPreview = Schemas['RewindPreview'];
export type RewindFile = Schemas['RewindFile'];
/** What a rewind does to the files changed outside the agent's turns since: keep them as they are, or put them back too. */
export type RewindOthers = 'keep' | 'discard';
export type QueuedMessage = Schemas['QueuedMessage'];
export type BacklogTask = Schemas['BacklogTask'] & { status: 'waiting' | 'running' | 'done' | 'failed' | 'removed' | 'held' };
export type Schedule = Schemas['Schedule'];
export interface TaskSpec { prompt: string; agent: string; mode?: SessionMode; model?: string; worktree?: boolean }
export type CommandRun = Schemas['CommandResponse'] & {
  status: 'running' | 'exited' | 'cancelled' | 'timed_out' | 'interrupted' | 'failed';
};
export type TerminalScreen = Schemas['TerminalScreen'];
export type NotificationSettings = Schemas['NotificationSettings'] & { content: 'summary' | 'private' };
/** `kind` is web_push or ntfy. */
export type NotificationChannel = Schemas['ChannelResponse'];
export type NotificationDelivery = Schemas['DeliveryResponse'] & { outcome: 'sent' | 'failed' | 'expired' | 'suppressed' };
export type NotificationsState = Schemas['NotificationsResponse'] & {
  settings: NotificationSettings; deliveries: NotificationDelivery[];
};

/** An error the server answered with problem+json; switch on `code`, show `detail`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfter?: number,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** The request never got an answer: offline, server down, DNS. Distinct so the UI can say "offline". */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

/**
 * A problem's words as the owner reads them: an API path in them (`PUT /api/projects/{id}/git/identity`, meant for a
 * script) is left out, with the brackets around it. The server words its problems without them; this keeps an older
 * server's (or a missed one's) off the screen.
 */
export function withoutApiPaths(text: string): string {
  if (!text.includes('/api/')) return text;
  return text
    .replace(/\s*\((?:(?:GET|POST|PUT|PATCH|DELETE)\s+)?\/api\/[^)]*\)/g, '')
    .replace(/\s*(?:(?:See|see)\s+)?(?:(?:GET|POST|PUT|PATCH|DELETE)\s+)?\/api\/\S*(?:\s+\{[^}]*\})?/g, '')
    .replace(/\s+([.,:;])/g, '$1')
    .trim();
}

/** Turns a failed response into an ApiError, whatever its body holds. */
export async function toApiError(response: Response): Promise<ApiError> {
  const retry = Number(response.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body = (await response.json()) as { code?: unknown; detail?: unknown; title?: unknown };
      const code = typeof body.code === 'string' ? body.code : fallbackCode(response.status);
      const detail = withoutApiPaths(typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : response.statusText);
      return new ApiError(response.status, code, detail, retryAfter);
    } catch {
      // A JSON content type with a broken body: fall through to the generic error.
    }
  }
  return new ApiError(response.status, fallbackCode(response.status), response.statusText || `HTTP ${response.status}`, retryAfter);
}

function fallbackCode(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status >= 500) return 'INTERNAL_ERROR';
  return 'BAD_REQUEST';
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
let fetcher: Fetch = (input, init) => fetch(input, init);

/** Tests swap the network out. */
export function setFetch(f: Fetch): void {
  fetcher = f;
}

/** Called when any request comes back 401 (with the server's words): the device was revoked or never paired. */
let onUnauthorized: (detail: string) => void = () => {};
export function setUnauthorizedHandler(handler: (detail: string) => void): void {
  onUnauthorized = handler;
}

/**
 * The document lists every parameter of a C# request record as required, a nullable one too; the server reads a field
 * left out as null (a PATCH: as "keep as it is"). So in the bodies sent, a field that may be null may be left out.
 */
type Omittable<T> = T extends readonly (infer E)[] ? Omittable<E>[] : T extends object
  ? { [K in keyof T as null extends T[K] ? K : never]?: Omittable<T[K]> } & { [K in keyof T as null extends T[K] ? never : K]: Omittable<T[K]> } : T;
type Sent<Op> = Op extends { requestBody: { content: { 'application/json': infer B } } }
  ? Omit<Op, 'requestBody'> & { requestBody: { content: { 'application/json': Omittable<B> } } } : Op;

/** An answer's body: a failure never gets here (thrown above). */
const body = async <T>(call: Promise<{ data?: T }>): Promise<T> => (await call).data as T;
const byId = (id: string) => ({ params: { path: { id } } });
/** Files, git, commands and the terminal act on the project's folder, or with `session` on that session's worktree. */
const within = <Q extends object>(id: string, session?: string, query?: Q) => ({ path: { id }, query: { ...query, session } });

const q = encodeURIComponent;
/**
 * A workspace URL (an API path, or an app link to a files/git/terminal screen) with `session` added when given: it then
 * acts on that session's worktree (docs/workspace.md).
 */
export const scoped = (url: string, session?: string) => (session ? `${url}${url.includes('?') ? '&' : '?'}session=${q(session)}` : url);

/** A page of a session's events as the app folds them (`kind` and the payload, which carries `sessionId` and `seq`). */
export interface SessionEventPage {
  events: { kind: string; data: { sessionId: string; seq: number } & Record<string, unknown> }[];
  before: number | null;
  lastSeq: number;
}

/**
 * Where a client sends its calls: this machine's own API (the default: same origin, the HttpOnly cookie), or another
 * machine the app added (its origin, its own device token as a bearer, never a cookie: docs/reach.md, "One inbox").
 */
export interface ApiTarget {
  baseUrl: string;
  /** None only to pair with that machine (its anonymous `POST /api/pair`). */
  token?: string;
  /** A 401 from that machine: this phone's device there was revoked (it alone; the others go on). */
  onUnauthorized(detail: string): void;
}

/** The typed client for one machine: every method below, sent to `target` (this machine when none). */
export function createApi(target?: ApiTarget) {
  const client = createClient<{ [P in keyof paths]: { [M in keyof paths[P]]: Sent<paths[P][M]> } }>({
    baseUrl: target?.baseUrl ?? globalThis.location?.origin ?? 'http://localhost', // Node (the unit tests) has no page to resolve a path on
    // Another machine never gets this machine's cookie, nor its own: the bearer token is its only credential.
    credentials: target ? 'omit' : 'same-origin',
    headers: target?.token ? { accept: 'application/json', authorization: `Bearer ${target.token}` } : { accept: 'application/json' },
    // The swappable fetcher gets a URL and a plain init, the body as the text sent. `keepalive`: the request outlives the
    // page (a "hidden" presence report sent as the phone locks).
    fetch: async (r) => fetcher(r.url, {
      method: r.method, credentials: r.credentials, keepalive: r.keepalive, headers: Object.fromEntries(r.headers), body: r.body ? await r.text() : undefined,
    }),
  });
  // Around every call: no answer at all is a NetworkError (the UI says "offline"), a failed answer an ApiError.
  client.use({
    onError: ({ error }) => new NetworkError(error instanceof Error ? error.message : String(error)),
    async onResponse({ response }) {
      if (response.ok) return undefined;
      const error = await toApiError(response);
      if (error.code === 'UNAUTHORIZED') (target?.onUnauthorized ?? onUnauthorized)(error.detail);
      throw error;
    },
  });
  return {
    health: () => body(client.GET('/api/health')),
    resources: () => body(client.GET('/api/resources')),
    /** An owner's: null goes back to the configured limit (or the one from the machine's memory). */
    setAgentLimit: (limit: number | null) => body(client.PUT('/api/resources/limit', { body: { limit } })),
    pair: (code: string, deviceName: string) => body(client.POST('/api/pair', { body: { code, deviceName } })),
    devices: () => body(client.GET('/api/devices')),
    revokeDevice: (device: string) => body(client.DELETE('/api/devices/{id}', byId(device))),
    bridges: () => body(client.GET('/api/bridges')) as Promise<Bridge[]>,
    bindChat: (bridgeId: string, chatId: string, projectId: string) => body(client.POST('/api/bridges/{bridgeId}/channels', { params: { path: { bridgeId } }, body: { chatId, projectId } })),
    unbindChat: (bridgeId: string, chatId: string) => body(client.DELETE('/api/bridges/{bridgeId}/channels/{chatId}', { params: { path: { bridgeId, chatId } } })),

    /** Who is calling: their person (role, devices, the projects narrowing it) and this device. */
    me: () => body(client.GET('/api/people/me')),
    people: () => body(client.GET('/api/people')),
    /** A new person and the one-time code (10 minutes) that pairs their first device. */
    addPerson: (name: string, role: string) => body(client.POST('/api/people', { body: { name, role } })),
    changeRole: (person: string, role: string) => body(client.PATCH('/api/people/{id}', { ...byId(person), body: { role } })),
    /** Revokes the person and every device of theirs; what they set going to start later is held. */
    revokePerson: (person: string) => body(client.DELETE('/api/people/{id}', byId(person))),
    /** A code pairing another device of the person (owners for anyone, anyone for themself). */
    invite: (person: string) => body(client.POST('/api/people/{id}/invites', byId(person))),
    /** Who reaches the machine now, by how they came (owners). */
    connections: () => body(client.GET('/api/connections')),
    /** Cuts every device but this one, every watch link and chat identity, and stops pairing until lifted on the machine. */
    lockdown: () => body(client.POST('/api/lockdown')),
    policy: (projectId: string) => body(client.GET('/api/projects/{projectId}/policy', { params: { path: { projectId } } })),
    setPolicy: (projectId: string, policy: TeamPolicy) => body(client.PUT('/api/projects/{projectId}/policy', { params: { path: { projectId } }, body: policy })),
    budget: (projectId: string) => body(client.GET('/api/projects/{projectId}/budget', { params: { path: { projectId } } })),
    /** Tokens and cost over the days from..to (UTC, both included), grouped; the budgets beside them. */
    costs: (from: string, to: string, by: string) => body(client.GET('/api/costs', { params: { query: { from, to, by } } })),
    /** A link to watch the session (owners): its address holds the secret in its fragment, shown this once. */
    createWatchLink: (session: string, expiresInHours: number) =>
      body(client.POST('/api/sessions/{id}/watch-links', { params: { path: { id: session } }, body: { expiresInHours } })),
    watchLinks: () => body(client.GET('/api/watch-links')),
    revokeWatchLink: (linkId: string) => body(client.DELETE('/api/watch-links/{linkId}', { params: { path: { linkId } } })),
    /** The watch page's one door in: the fragment's token for this link's cookie. */
    openWatch: (token: string) => body(client.POST('/api/watch/open', { body: { token } })),
    watched: () => body(client.GET('/api/watch')),
    /** The same report as a CSV download (a link's address: the browser saves it under the server's filename). */
    costsCsvUrl: (from: string, to: string, by: string) => `/api/costs.csv?${new URLSearchParams({ from, to, by })}`,

    projects: () => body(client.GET('/api/projects')) as Promise<Project[]>,
    project: (project: string) => body(client.GET('/api/projects/{id}', byId(project))) as Promise<Project>,
    addProject: (path: string, name?: string) => body(client.POST('/api/projects', { body: name ? { path, name } : { path } })) as Promise<Project>,
    /** One folder of the server's home (home itself for ''), its subfolders only; hidden ones when asked. */
    folders: (path: string, hidden = false) => body(client.GET('/api/folders', { params: { query: { path, hidden: hidden || undefined } } })),
    /** Folders worth adding: added before, worked in by the agents, repositories under home. */
    folderSuggestions: () => body(client.GET('/api/folders/suggestions')),
    removeProject: (project: string) => body(client.DELETE('/api/projects/{id}', byId(project))),
    updateProject: (project: string, change: { name?: string; approvalTimeoutSeconds?: number | null; sandbox?: 'sandboxed' | 'none'; worktreeDefault?: boolean }) =>
      body(client.PATCH('/api/projects/{id}', { ...byId(project), body: change })) as Promise<Project>,

    /** The newest sessions (the first page: up to 1,000), or with `before` (the last session of a page) the page after it. */
    sessions: (projectId?: string, page?: { before: string; limit: number }) =>
      body(client.GET('/api/sessions', { params: { query: { projectId, ...page } } })) as Promise<Session[]>,
    session: (session: string) => body(client.GET('/api/sessions/{id}', byId(session))) as Promise<Session>,
    /**
     * A page of the session's events, oldest first: the newest page without `before`, else the one before that seq (each
     * page's `before`; null at the first event). `lastSeq` is where the live stream follows on (docs/api.md, Events).
     */
    sessionEventPage: async (session: string, before?: number): Promise<SessionEventPage> => {
      const page = await body(client.GET('/api/sessions/{id}/events/page', { params: { path: { id: session }, query: { before: before?.toString() } } }));
      return {
        events: page.events.map((e) => ({ kind: e.kind, data: e.data as SessionEventPage['events'][number]['data'] })),
        before: page.before ?? null,
        lastSeq: page.lastSeq,
      };
    },
    /** Sessions whose prompts hold every word (the last as a prefix); `match` marks the hit with U+0002 … U+0003. */
    searchSessions: (query: string) => body(client.GET('/api/sessions', { params: { query: { q: query } } })) as Promise<Session[]>,
    profiles: (projectId: string) => body(client.GET('/api/projects/{projectId}/profiles', { params: { path: { projectId } } })) as Promise<Profile[]>,
    createProfile: (projectId: string, fields: ProfileFields) =>
      body(client.POST('/api/projects/{projectId}/profiles', { params: { path: { projectId } }, body: fields })) as Promise<Profile>,
    updateProfile: (projectId: string, profileId: string, fields: ProfileFields) =>
      body(client.PUT('/api/projects/{projectId}/profiles/{profileId}', { params: { path: { projectId, profileId } }, body: fields })) as Promise<Profile>,
    deleteProfile: (projectId: string, profileId: string) => body(client.DELETE('/api/projects/{projectId}/profiles/{profileId}', { params: { path: { projectId, profileId } } })),
    /** The models an agent offers (asked of it once, when no session of it has said yet); an empty list: free text. */
    agentModels: (agentId: string) => body(client.GET('/api/agents/{agentId}/models', { params: { path: { agentId } } })),
    refreshAgentModels: (agentId: string) => body(client.POST('/api/agents/{agentId}/models/refresh', { params: { path: { agentId } } })),
    mcpServers: (projectId: string) => body(client.GET('/api/projects/{projectId}/mcp-servers', { params: { path: { projectId } } })) as Promise<McpServer[]>,
    addMcpServer: (projectId: string, fields: McpServerFields) =>
      body(client.POST('/api/projects/{projectId}/mcp-servers', { params: { path: { projectId } }, body: fields })) as Promise<McpServer>,
    /** Turning on a server a file declares approves it: send the fingerprint shown, so that what starts is what was seen. */
    setMcpServer: (projectId: string, s: McpServer, enabled: boolean) =>
      body(client.PATCH('/api/projects/{projectId}/mcp-servers/{origin}/{name}', { params: { path: { projectId, origin: s.origin, name: s.name } },
        body: enabled && s.fingerprint ? { enabled, fingerprint: s.fingerprint } : { enabled } })) as Promise<McpServer>,
    removeMcpServer: (projectId: string, s: McpServer) =>
      body(client.DELETE('/api/projects/{projectId}/mcp-servers/{origin}/{name}', { params: { path: { projectId, origin: s.origin, name: s.name } } })),
    /** `profile`: start from one of the project's profiles (its instructions go to the agent; the other fields given win). */
    startSession: (projectId: string, start: { agent: string; prompt?: string; model?: string; mode?: SessionMode; attachments?: { name: string; data: string }[]; worktree?: boolean; profile?: string }) =>
      body(client.POST('/api/projects/{projectId}/sessions', { params: { path: { projectId } }, body: start })) as Promise<Session>,
    /**
     * Starts a turn between turns; while one runs, the message waits in the session's queue (`queued`). `attachments`:
     * images (shown to the model) and text files (put in the prompt), base64; see docs/api.md.
     */
    /** @param clientId The message's key: sent again with it (a retry, the outbox), the session takes it once. */
    send: (session: string, text: string, attachments: { name: string; data: string }[] = [], clientId?: string) =>
      body(client.POST('/api/sessions/{id}/messages', {
        ...byId(session), body: { text, ...(attachments.length ? { attachments } : {}), ...(clientId ? { clientId } : {}) },
      })),
    queue: (session: string) => body(client.GET('/api/sessions/{id}/queue', byId(session))),
    editQueued: (session: string, messageId: string, text: string) =>
      body(client.PATCH('/api/sessions/{id}/queue/{messageId}', { params: { path: { id: session, messageId } }, body: { text } })),
    removeQueued: (session: string, messageId: string) => body(client.DELETE('/api/sessions/{id}/queue/{messageId}', { params: { path: { id: session, messageId } } })),
    /** Lets a message held for its revoked sender go on, in its place, in this device's name. */
    confirmQueued: (session: string, messageId: string) => body(client.POST('/api/sessions/{id}/queue/{messageId}/confirm', { params: { path: { id: session, messageId } } })),
    /** Lets a held queue (after a stopped turn, or a restart) go on: its first message starts if the agent is between turns. */
    runQueue: (session: string) => body(client.POST('/api/sessions/{id}/queue/run', byId(session))),
    conversations: (projectId: string) => body(client.GET('/api/projects/{projectId}/agent-sessions', { params: { path: { projectId } } })),
    /** Carries on, here, a conversation the agent keeps for the folder (one begun in a terminal): a new session with its history. */
    continueConversation: (projectId: string, agent: string, conversationId: string, force = false) =>
      body(client.POST('/api/projects/{projectId}/agent-sessions/{agent}/{conversationId}/continue',
        { params: { path: { projectId, agent, conversationId }, query: { force: force || undefined } } })) as Promise<Session>,
    /** Stops the agent between turns and answers with the command that resumes it in a terminal. */
    /** The ports the session's sandbox listens on now (found, not typed). */
    ports: (session: string) => body(client.GET('/api/sessions/{id}/ports', byId(session))),
    /** Opens a preview: the grant, and the preview origin's one-time address (a minute) that sets its cookie there. */
    openPreview: (session: string, port: number) => body(client.POST('/api/sessions/{id}/previews', { ...byId(session), body: { port } })),
    previews: () => body(client.GET('/api/previews')),
    closePreview: (preview: string) => body(client.DELETE('/api/previews/{previewId}', { params: { path: { previewId: preview } } })),
    handoff: (session: string) => body(client.POST('/api/sessions/{id}/handoff', byId(session))),
    turnChanges: (session: string, turn: number) => body(client.GET('/api/sessions/{id}/turns/{turn}', { params: { path: { id: session, turn } } })),
    /** Ledgered as turn.reviewed, and sent to the agent as the owner's next message. */
    reviewTurn: (session: string, turn: number, verdict: 'approve' | 'changes', message?: string) =>
      body(client.POST('/api/sessions/{id}/turns/{turn}/review', { params: { path: { id: session, turn } }, body: message ? { verdict, message } : { verdict } })),
    /** Puts the files back to before the turn and carries the conversation on from the turn before: answers the new session. */
    rewindTurn: (session: string, turn: number, others?: RewindOthers) =>
      body(client.POST('/api/sessions/{id}/turns/{turn}/rewind', { params: { path: { id: session, turn }, query: { others } } })) as Promise<Session>,
    /** What a rewind to before the turn would restore and delete, and the files changed outside the agent's turns since. */
    rewindPreview: (session: string, turn: number) =>
      body(client.GET('/api/sessions/{id}/turns/{turn}/rewind-preview', { params: { path: { id: session, turn } } })) as Promise<RewindPreview>,
    /** Puts the files back as they were before the rewind that made this session: answers the session that carries on. */
    undoRewind: (session: string) => body(client.POST('/api/sessions/{id}/rewind/undo', byId(session))) as Promise<Session>,
    /** A new session on a branch of its own from the turn's opening files; the original stays as it is. */
    forkTurn: (session: string, turn: number) =>
      body(client.POST('/api/sessions/{id}/turns/{turn}/fork', { params: { path: { id: session, turn } } })) as Promise<Session>,
    /** The project's backlog: the running task, the waiting ones in order, then the newest finished. */
    tasks: (project: string) => body(client.GET('/api/projects/{id}/tasks', byId(project))) as Promise<BacklogTask[]>,
    addTask: (project: string, task: TaskSpec) => body(client.POST('/api/projects/{id}/tasks', { ...byId(project), body: task })) as Promise<BacklogTask>,
    removeTask: (taskId: string) => body(client.DELETE('/api/tasks/{taskId}', { params: { path: { taskId } } })) as Promise<BacklogTask>,
    /** Puts a task held for its revoked device back in line, in this device's name. */
    confirmTask: (taskId: string) => body(client.POST('/api/tasks/{taskId}/confirm', { params: { path: { taskId } } })) as Promise<BacklogTask>,
    schedules: (project: string) => body(client.GET('/api/projects/{id}/schedules', byId(project))),
    addSchedule: (project: string, schedule: TaskSpec & { name: string; cron: string; timeZone: string }) =>
      body(client.POST('/api/projects/{id}/schedules', { ...byId(project), body: schedule })),
    updateSchedule: (scheduleId: string, change: { enabled?: boolean; name?: string; cron?: string; timeZone?: string; prompt?: string }) =>
      body(client.PATCH('/api/schedules/{scheduleId}', { params: { path: { scheduleId } }, body: change })),
    deleteSchedule: (scheduleId: string) => body(client.DELETE('/api/schedules/{scheduleId}', { params: { path: { scheduleId } } })),
    runSchedule: (scheduleId: string) => body(client.POST('/api/schedules/{scheduleId}/run', { params: { path: { scheduleId } } })),
    /** The project's session worktrees (present, or removed with their branch kept). */
    worktrees: (project: string) => body(client.GET('/api/projects/{id}/worktrees', byId(project))),
    worktree: (session: string) => body(client.GET('/api/sessions/{id}/worktree', byId(session))),
    /** What the session's branch changed against where it started, committed or not. */
    worktreeDiff: (session: string) => body(client.GET('/api/sessions/{id}/worktree/diff', byId(session))),
    /**
     * Commits what is left, then fast-forwards the base or makes a merge commit; MERGE_CONFLICT (with `files`) leaves the base as it was.
     * Only what the owner was shown (`head` and `tree` of that worktree): WORKTREE_MOVED when the branch or its files changed since.
     */
    mergeWorktree: (session: string, shown: Pick<Worktree, 'head' | 'tree'>) =>
      body(client.POST('/api/sessions/{id}/worktree/merge', { ...byId(session), body: { commit: shown.head, tree: shown.tree } })),
    /** Stops the session and removes its worktree; the branch too with `discardBranch`. */
    removeWorktree: (session: string, discardBranch: boolean) => body(client.POST('/api/sessions/{id}/worktree/remove', { ...byId(session), body: { discardBranch } })),
    cancel: (session: string) => body(client.POST('/api/sessions/{id}/cancel', byId(session))),
    /** Stops one subagent (or background command) of the running agent, the turn going on; its end comes as task.status. */
    stopAgentTask: (session: string, taskId: string) =>
      body(client.POST('/api/sessions/{id}/tasks/{taskId}/stop', { params: { path: { id: session, taskId } } })),
    resume: (session: string) => body(client.POST('/api/sessions/{id}/resume', byId(session))) as Promise<Session>,
    setMode: (session: string, mode: SessionMode) => body(client.PATCH('/api/sessions/{id}', { ...byId(session), body: { mode } })) as Promise<Session>,
    stop: (session: string) => body(client.DELETE('/api/sessions/{id}', byId(session))) as Promise<Session>,
    archive: (session: string, archived: boolean) => body(client.POST(archived ? '/api/sessions/{id}/archive' : '/api/sessions/{id}/unarchive', byId(session))) as Promise<Session>,

    approvals: (status?: 'pending' | 'decided', sessionId?: string) => body(client.GET('/api/approvals', { params: { query: { status, sessionId } } })) as Promise<Approval[]>,
    approval: (approval: string) => body(client.GET('/api/approvals/{id}', byId(approval))) as Promise<Approval>,
    /** `pattern`: with allow_always, the rule as the owner confirmed it (it must cover the call); absent, the exact call. */
    /** `clientId`: the decision's key (an idempotency key): sent again with it, the same answer and nothing decided twice. */
    decide: (approval: string, decision: Decision, extra?: { message?: string; updatedInput?: unknown; pattern?: string; clientId?: string }) =>
      body(client.POST('/api/approvals/{id}/decision', { ...byId(approval), body: { decision, ...extra } })),
    /** Several calls decided together: each its own decision (and ledger entry); a refusal is said in that call's result. */
    decideMany: (decisions: { id: string; decision: Decision; message?: string }[]) =>
      body(client.POST('/api/approvals/decisions', { body: { decisions } })),

    /** The app shows this call's card to someone who may decide it: a paused agent starts again while they read. */
    look: (approval: string) => body(client.POST('/api/approvals/{id}/look', byId(approval))),

    /** Answers an agent's question: one answer per question, in order (chosen option labels and/or the owner's own words). */
    answer: (approval: string, answers: QuestionAnswer[]) => body(client.POST('/api/approvals/{id}/answer', { ...byId(approval), body: { answers } })),

    rules: (projectId: string) => body(client.GET('/api/projects/{projectId}/rules', { params: { path: { projectId } } })) as Promise<Rule[]>,
    addRule: (projectId: string, rule: RuleFields) => body(client.POST('/api/projects/{projectId}/rules', { params: { path: { projectId } }, body: rule })) as Promise<Rule>,
    changeRule: (projectId: string, ruleId: string, rule: RuleFields) =>
      body(client.PUT('/api/projects/{projectId}/rules/{ruleId}', { params: { path: { projectId, ruleId } }, body: rule })) as Promise<Rule>,
    previewRule: (projectId: string, rule: RuleFields) => body(client.POST('/api/projects/{projectId}/rules/preview', { params: { path: { projectId } }, body: rule })),
    removeRule: (projectId: string, ruleId: string) => body(client.DELETE('/api/projects/{projectId}/rules/{ruleId}', { params: { path: { projectId, ruleId } } })),

    files: (projectId: string, path = '', session?: string) => body(client.GET('/api/projects/{id}/files', { params: within(projectId, session, { path }) })) as Promise<DirectoryListing>,
    file: (projectId: string, path: string, session?: string) => body(client.GET('/api/projects/{id}/files/content', { params: within(projectId, session, { path }) })),
    /**
     * Saves only over the version the editor read (`sha256`); else FILE_CHANGED (412) and nothing is written. The content
     * goes as text, which the document does not describe (hence `never`).
     */
    writeFile: (projectId: string, path: string, content: string, replaces: string, session?: string) =>
      body(client.PUT('/api/projects/{id}/files/content', {
        params: { path: { id: projectId }, query: { path, session } }, body: content as never, bodySerializer: () => content,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'if-match': `"${replaces}"` },
      })),

    gitStatus: (projectId: string, session?: string) => body(client.GET('/api/projects/{id}/git/status', { params: within(projectId, session) })),
    gitDiff: (projectId: string, path: string, staged: boolean, session?: string) => body(client.GET('/api/projects/{id}/git/diff', { params: within(projectId, session, { path, staged }) })),
    gitLog: (projectId: string, skip = 0, session?: string) => body(client.GET('/api/projects/{id}/git/log', { params: within(projectId, session, { skip, limit: 50 }) })),
    gitCommitDetail: (projectId: string, sha: string, session?: string) =>
      body(client.GET('/api/projects/{id}/git/commits/{sha}', { params: { path: { id: projectId, sha }, query: { session } } })),
    gitDiscard: (projectId: string, paths: string[], includeStaged = false, session?: string) =>
      body(client.POST('/api/projects/{id}/git/discard', { params: within(projectId, session), body: { paths, includeStaged } })),
    gitBranches: (projectId: string, session?: string) => body(client.GET('/api/projects/{id}/git/branches', { params: within(projectId, session) })),
    gitStage: (projectId: string, paths: string[], session?: string) => body(client.POST('/api/projects/{id}/git/stage', { params: within(projectId, session), body: { paths } })),
    gitUnstage: (projectId: string, paths: string[], session?: string) => body(client.POST('/api/projects/{id}/git/unstage', { params: within(projectId, session), body: { paths } })),
    ledgerHead: () => body(client.GET('/api/ledger/head')),
    ledgerKey: () => body(client.GET('/api/ledger/key')),
    ledgerEntry: async (seq: number) =>
      (await body(client.GET('/api/ledger', { params: { query: { after: seq - 1, limit: 1 } } }))).entries.find((e) => e.seq === seq) ?? null,
    gitSetIdentity: (project: string, name: string, email: string) => body(client.PUT('/api/projects/{id}/git/identity', { ...byId(project), body: { name, email } })),
    gitCommit: (projectId: string, message: string, session?: string) => body(client.POST('/api/projects/{id}/git/commit', { params: within(projectId, session), body: { message } })),
    gitPush: (projectId: string, session?: string) => body(client.POST('/api/projects/{id}/git/push', { params: within(projectId, session) })),
    gitCheckout: (projectId: string, ref: string, session?: string) => body(client.POST('/api/projects/{id}/git/checkout', { params: within(projectId, session), body: { ref } })),
    gitBranch: (projectId: string, name: string, session?: string) =>
      body(client.POST('/api/projects/{id}/git/branch', { params: within(projectId, session), body: { name, checkout: true } })),

    runCommand: (projectId: string, command: string, session?: string) => body(client.POST('/api/projects/{id}/commands', { params: within(projectId, session), body: { command } })),
    commands: (projectId: string) => body(client.GET('/api/projects/{id}/commands', { params: { path: { id: projectId }, query: { limit: 20 } } })) as Promise<CommandRun[]>,
    command: (command: string) => body(client.GET('/api/commands/{id}', byId(command))) as Promise<CommandRun>,
    cancelCommand: (command: string) => body(client.POST('/api/commands/{id}/cancel', byId(command))),

    /** The project's shell, or with `session` the shell of that session's worktree (a separate one). */
    openTerminal: (projectId: string, cols: number, rows: number, session?: string) =>
      body(client.POST('/api/projects/{id}/terminal', { params: within(projectId, session), body: { cols, rows } })),
    terminalInput: (projectId: string, input: { text?: string; keys?: string[] }, session?: string) =>
      body(client.POST('/api/projects/{id}/terminal/input', { params: within(projectId, session), body: input })),
    terminalEventsUrl: (projectId: string, session?: string) => scoped(`/api/projects/${q(projectId)}/terminal/events`, session),

    notifications: () => body(client.GET('/api/notifications')) as Promise<NotificationsState>,
    saveNotificationSettings: (settings: NotificationSettings) => body(client.PUT('/api/notifications/settings', { body: settings })) as Promise<NotificationSettings>,
    /** The browser's subscription; with `relay`, the app's subscription on another machine, reached through the relay `endpoint` is. */
    subscribeWebPush: (subscription: PushSubscriptionJSON & { relay?: { secret: string; origin: string } }) =>
      body(client.PUT('/api/notifications/web-push', { body: subscription })),
    unsubscribeWebPush: () => body(client.DELETE('/api/notifications/web-push')),
    setNtfy: (topicUrl: string, token?: string) => body(client.PUT('/api/notifications/ntfy', { body: { topicUrl, token: token || null } })),
    removeNtfy: () => body(client.DELETE('/api/notifications/ntfy')),
    testNotification: () => body(client.POST('/api/notifications/test')) as Promise<NotificationDelivery[]>,
    /** A push relay to this device's subscription, for another machine to notify it through this one; its secret comes this once. */
    createPushRelay: (label: string) => body(client.POST('/api/push/relays', { body: { label } })),
    revokePushRelay: (id: string) => body(client.DELETE('/api/push/relays/{id}', byId(id))),
    presence: (visible: boolean) => body(client.POST('/api/notifications/presence', { body: { visible }, keepalive: true })),
  };
}

/** What one machine's client offers (this machine's, or an added one's). */
export type Api = ReturnType<typeof createApi>;

/** This machine's own API: same origin, authenticated by the HttpOnly cookie pairing set. */
export const api = createApi();

/** Words for an error a person can act on. */
export function describeError(error: unknown): string {
  if (error instanceof NetworkError) return 'You are offline, or the server cannot be reached.';
  if (error instanceof ApiError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}
