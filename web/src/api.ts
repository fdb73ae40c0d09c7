// The one way the app talks to the server. Types mirror docs/api.md; the session cookie set by pairing
// authenticates every call (same origin), so no token is ever handled by script.

import type { components } from './api.gen';

export type SessionStatus = 'starting' | 'running' | 'waiting_approval' | 'idle' | 'failed' | 'stopped' | 'interrupted';
export type SessionMode = 'ask' | 'plan' | 'accept_edits' | 'trusted';
export type ToolKind = 'read' | 'edit' | 'execute' | 'fetch' | 'mcp' | 'question' | 'other';
export type Decision = 'allow_once' | 'allow_session' | 'allow_always' | 'deny';
export type ApprovalStatus = 'pending' | 'decided' | 'cancelled' | 'interrupted';

/** The owner's answer to one question: option labels chosen, and/or their own words. */
export type QuestionAnswer = { selected?: string[]; other?: string };

// Shapes come from the server's OpenAPI document (openapi.json, checked against the running server by
// Api/ApiDocumentTests; `npm run gen:api` turns it into src/api.gen.ts). Here they only get names, and the string
// fields the server keeps to a fixed set get their literal types.
type Schemas = components['schemas'];

export type AgentHealth = Schemas['AgentHealth'];
export type Health = Schemas['HealthResponse'];
export type Paired = Schemas['PairResponse'];
export type Device = Schemas['DeviceResponse'];
export type Bridge = Schemas['BridgeResponse'] & { state: 'connecting' | 'connected' | 'failing' | 'stopped' };
export type Project = Schemas['ProjectResponse'];
export type FolderListing = Schemas['FolderListing'];
export type FolderSuggestion = Schemas['FolderSuggestion'];
export type FolderSuggestions = Schemas['FolderSuggestions'];
export type Profile = Schemas['ProfileResponse'] & { mode: SessionMode | null };
/** What a profile holds when saved: every field is replaced (null or absent: the session's own default). */
export type ProfileFields = {
  name: string; agent: string; model?: string | null; mode?: SessionMode | null; worktree?: boolean | null; instructions?: string | null;
  /** The project's MCP servers its sessions get, by name; null: every enabled one. */
  mcpServers?: string[] | null;
};
export type McpState = 'enabled' | 'disabled' | 'needs_approval' | 'changed' | 'unusable';
export type McpServer = Schemas['McpServerResponse'] & { state: McpState };
/** A server of the owner's own: a command (stdio) or a URL; env and headers' values are secrets, never shown back. */
export type McpServerFields = {
  name: string; command?: string; args?: string[]; url?: string;
  env?: Record<string, string>; headers?: Record<string, string>; enabled?: boolean;
};
export type Session = Schemas['SessionResponse'] & { mode: SessionMode; status: SessionStatus };
export type Approval = Schemas['ApprovalResponse'] & { kind: ToolKind; status: ApprovalStatus; decision: Decision | null };
export type Rule = Schemas['RuleResponse'] & { action: 'allow' | 'deny' | 'ask' };
export type RulePreview = Schemas['RulePreview'];

// Not in the OpenAPI document: it arrives in `plan` events (docs/api.md, Events).
export interface PlanEntry { content: string; status: string }

export type FileEntry = Schemas['FileEntry'] & { type: 'file' | 'directory' | 'symlink' };
export type DirectoryListing = Schemas['DirectoryListing'] & { entries: FileEntry[] };
export type FileContent = Schemas['FileContent'];

export type GitChange = Schemas['GitChange'];
export type GitStatus = Schemas['GitStatusResponse'];
export type GitDiff = Schemas['GitDiffResponse'];
export type GitBranch = Schemas['GitBranch'];
export type GitBranches = Schemas['GitBranchesResponse'];
export type GitLog = Schemas['GitLogResponse'];
export type GitCommitDetail = Schemas['GitCommitDetail'];
export type FileWritten = Schemas['FileWritten'];
export type TurnChanges = Schemas['TurnChanges'];
export type AgentConversation = Schemas['AgentConversationResponse'];
export type HandoffResult = Schemas['HandoffResponse'];
export type SessionWorktreeRecord = Schemas['SessionWorktree'];
export type Worktree = Schemas['WorktreeResponse'];
export type WorktreeMerge = Schemas['WorktreeMergeResponse'];
export type WorktreeDiff = Schemas['WorktreeDiff'];
export type ChangedFile = Schemas['ChangedFile'];
export type QueuedMessage = Schemas['QueuedMessage'];
export type BacklogTask = Schemas['BacklogTask'] & { status: 'waiting' | 'running' | 'done' | 'failed' | 'removed' | 'held' };
export type Schedule = Schemas['Schedule'];
export interface TaskSpec { prompt: string; agent: string; mode?: SessionMode; model?: string; worktree?: boolean }
export type MessageQueue = Schemas['MessageQueueResponse'];
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

/** Called when any request comes back 401: the device was revoked or never paired. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** `keepalive`: the request outlives the page (a "hidden" presence report sent as the phone locks). */
/** `text`: the body is sent as is, as text/plain (a file's content), with any extra `headers`. */
export async function request<T>(method: string, path: string, body?: unknown,
  options: { keepalive?: boolean; text?: string; headers?: Record<string, string> } = {}): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...options.headers }, keepalive: options.keepalive };
  if (options.text !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'text/plain; charset=utf-8', ...options.headers };
    init.body = options.text;
  } else if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json', ...options.headers };
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetcher(path, init);
  } catch (e) {
    throw new NetworkError(e instanceof Error ? e.message : String(e));
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.code === 'UNAUTHORIZED') onUnauthorized();
    throw error;
  }
  if (response.status === 204 || response.status === 202) {
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return (await response.json()) as T;
}

const q = encodeURIComponent;
/**
 * A workspace URL (an API path, or an app link to a files/git/terminal screen) with `session` added when given: it then
 * acts on that session's worktree (docs/workspace.md).
 */
export const scoped = (url: string, session?: string) => (session ? `${url}${url.includes('?') ? '&' : '?'}session=${q(session)}` : url);

export const api = {
  health: () => request<Health>('GET', '/api/health'),
  pair: (code: string, deviceName: string) => request<Paired>('POST', '/api/pair', { code, deviceName }),
  devices: () => request<Device[]>('GET', '/api/devices'),
  revokeDevice: (id: string) => request<void>('DELETE', `/api/devices/${q(id)}`),
  bridges: () => request<Bridge[]>('GET', '/api/bridges'),
  bindChat: (bridgeId: string, chatId: string, projectId: string) =>
    request<Schemas['BridgeChannelResponse']>('POST', `/api/bridges/${q(bridgeId)}/channels`, { chatId, projectId }),
  unbindChat: (bridgeId: string, chatId: string) => request<void>('DELETE', `/api/bridges/${q(bridgeId)}/channels/${q(chatId)}`),

  projects: () => request<Project[]>('GET', '/api/projects'),
  project: (id: string) => request<Project>('GET', `/api/projects/${q(id)}`),
  addProject: (path: string, name?: string) => request<Project>('POST', '/api/projects', name ? { path, name } : { path }),
  /** One folder of the server's home (home itself for ''), its subfolders only; hidden ones when asked. */
  folders: (path: string, hidden = false) =>
    request<FolderListing>('GET', `/api/folders?path=${q(path)}${hidden ? '&hidden=true' : ''}`),
  /** Folders worth adding: added before, worked in by the agents, repositories under home. */
  folderSuggestions: () => request<FolderSuggestions>('GET', '/api/folders/suggestions'),
  removeProject: (id: string) => request<void>('DELETE', `/api/projects/${q(id)}`),
  updateProject: (id: string, change: { name?: string; approvalTimeoutSeconds?: number | null; sandbox?: 'sandboxed' | 'none'; worktreeDefault?: boolean }) =>
    request<Project>('PATCH', `/api/projects/${q(id)}`, change),

  sessions: (projectId?: string) => request<Session[]>('GET', projectId ? `/api/sessions?projectId=${q(projectId)}` : '/api/sessions'),
  session: (id: string) => request<Session>('GET', `/api/sessions/${q(id)}`),
  /** Sessions whose prompts hold every word (the last as a prefix); `match` marks the hit with U+0002 … U+0003. */
  searchSessions: (query: string) => request<Session[]>('GET', `/api/sessions?q=${q(query)}`),
  profiles: (projectId: string) => request<Profile[]>('GET', `/api/projects/${q(projectId)}/profiles`),
  createProfile: (projectId: string, fields: ProfileFields) => request<Profile>('POST', `/api/projects/${q(projectId)}/profiles`, fields),
  updateProfile: (projectId: string, id: string, fields: ProfileFields) => request<Profile>('PUT', `/api/projects/${q(projectId)}/profiles/${q(id)}`, fields),
  deleteProfile: (projectId: string, id: string) => request<void>('DELETE', `/api/projects/${q(projectId)}/profiles/${q(id)}`),
  mcpServers: (projectId: string) => request<McpServer[]>('GET', `/api/projects/${q(projectId)}/mcp-servers`),
  addMcpServer: (projectId: string, fields: McpServerFields) => request<McpServer>('POST', `/api/projects/${q(projectId)}/mcp-servers`, fields),
  /** Turning on a server a file declares approves it: send the fingerprint shown, so that what starts is what was seen. */
  setMcpServer: (projectId: string, s: McpServer, enabled: boolean) =>
    request<McpServer>('PATCH', `/api/projects/${q(projectId)}/mcp-servers/${q(s.origin)}/${q(s.name)}`,
      enabled && s.fingerprint ? { enabled, fingerprint: s.fingerprint } : { enabled }),
  removeMcpServer: (projectId: string, s: McpServer) => request<void>('DELETE', `/api/projects/${q(projectId)}/mcp-servers/${q(s.origin)}/${q(s.name)}`),
  /** `profile`: start from one of the project's profiles (its instructions go to the agent; the other fields given win). */
  startSession: (projectId: string, body: { agent: string; prompt?: string; model?: string; mode?: SessionMode; attachments?: { name: string; data: string }[]; worktree?: boolean; profile?: string }) =>
    request<Session>('POST', `/api/projects/${q(projectId)}/sessions`, body),
  /** `attachments`: images (shown to the model) and text files (put in the prompt), base64; see docs/api.md. */
  /** Starts a turn between turns; while one runs, the message waits in the session's queue (`queued`). */
  send: (sessionId: string, text: string, attachments: { name: string; data: string }[] = []) =>
    request<Schemas['SendMessageResponse']>('POST', `/api/sessions/${q(sessionId)}/messages`, attachments.length ? { text, attachments } : { text }),
  queue: (sessionId: string) => request<MessageQueue>('GET', `/api/sessions/${q(sessionId)}/queue`),
  editQueued: (sessionId: string, messageId: string, text: string) =>
    request<QueuedMessage>('PATCH', `/api/sessions/${q(sessionId)}/queue/${q(messageId)}`, { text }),
  removeQueued: (sessionId: string, messageId: string) => request<void>('DELETE', `/api/sessions/${q(sessionId)}/queue/${q(messageId)}`),
  /** Lets a message held for its revoked sender go on, in its place, in this device's name. */
  confirmQueued: (sessionId: string, messageId: string) =>
    request<QueuedMessage>('POST', `/api/sessions/${q(sessionId)}/queue/${q(messageId)}/confirm`),
  /** Lets a held queue (after a stopped turn, or a restart) go on: its first message starts if the agent is between turns. */
  runQueue: (sessionId: string) => request<Schemas['RunQueueResponse']>('POST', `/api/sessions/${q(sessionId)}/queue/run`),
  conversations: (projectId: string) => request<AgentConversation[]>('GET', `/api/projects/${q(projectId)}/agent-sessions`),
  /** Carries on, here, a conversation the agent keeps for the folder (one begun in a terminal): a new session with its history. */
  continueConversation: (projectId: string, agent: string, id: string, force = false) =>
    request<Session>('POST', `/api/projects/${q(projectId)}/agent-sessions/${q(agent)}/${q(id)}/continue${force ? '?force=true' : ''}`),
  /** Stops the agent between turns and answers with the command that resumes it in a terminal. */
  handoff: (sessionId: string) => request<HandoffResult>('POST', `/api/sessions/${q(sessionId)}/handoff`),
  turnChanges: (sessionId: string, turn: number) => request<TurnChanges>('GET', `/api/sessions/${q(sessionId)}/turns/${turn}`),
  /** Ledgered as turn.reviewed, and sent to the agent as the owner's next message. */
  reviewTurn: (sessionId: string, turn: number, verdict: 'approve' | 'changes', message?: string) =>
    request<void>('POST', `/api/sessions/${q(sessionId)}/turns/${turn}/review`, message ? { verdict, message } : { verdict }),
  /** The project's backlog: the running task, the waiting ones in order, then the newest finished. */
  tasks: (projectId: string) => request<BacklogTask[]>('GET', `/api/projects/${q(projectId)}/tasks`),
  addTask: (projectId: string, task: TaskSpec) => request<BacklogTask>('POST', `/api/projects/${q(projectId)}/tasks`, task),
  removeTask: (taskId: string) => request<BacklogTask>('DELETE', `/api/tasks/${q(taskId)}`),
  /** Puts a task held for its revoked device back in line, in this device's name. */
  confirmTask: (taskId: string) => request<BacklogTask>('POST', `/api/tasks/${q(taskId)}/confirm`),
  schedules: (projectId: string) => request<Schedule[]>('GET', `/api/projects/${q(projectId)}/schedules`),
  addSchedule: (projectId: string, schedule: TaskSpec & { name: string; cron: string; timeZone: string }) =>
    request<Schedule>('POST', `/api/projects/${q(projectId)}/schedules`, schedule),
  updateSchedule: (scheduleId: string, change: { enabled?: boolean; name?: string; cron?: string; timeZone?: string; prompt?: string }) =>
    request<Schedule>('PATCH', `/api/schedules/${q(scheduleId)}`, change),
  deleteSchedule: (scheduleId: string) => request<void>('DELETE', `/api/schedules/${q(scheduleId)}`),
  /** The project's session worktrees (present, or removed with their branch kept). */
  worktrees: (projectId: string) => request<SessionWorktreeRecord[]>('GET', `/api/projects/${q(projectId)}/worktrees`),
  worktree: (sessionId: string) => request<Worktree>('GET', `/api/sessions/${q(sessionId)}/worktree`),
  /** What the session's branch changed against where it started, committed or not. */
  worktreeDiff: (sessionId: string) => request<WorktreeDiff>('GET', `/api/sessions/${q(sessionId)}/worktree/diff`),
  /**
   * Commits what is left, then fast-forwards the base or makes a merge commit; MERGE_CONFLICT (with `files`) leaves the base as it was.
   * Only what the owner was shown (`head` and `tree` of that worktree): WORKTREE_MOVED when the branch or its files changed since.
   */
  mergeWorktree: (sessionId: string, shown: Pick<Worktree, 'head' | 'tree'>) =>
    request<WorktreeMerge>('POST', `/api/sessions/${q(sessionId)}/worktree/merge`, { commit: shown.head, tree: shown.tree }),
  /** Stops the session and removes its worktree; the branch too with `discardBranch`. */
  removeWorktree: (sessionId: string, discardBranch: boolean) =>
    request<Worktree | undefined>('POST', `/api/sessions/${q(sessionId)}/worktree/remove`, { discardBranch }),
  cancel: (sessionId: string) => request<void>('POST', `/api/sessions/${q(sessionId)}/cancel`),
  resume: (sessionId: string) => request<void>('POST', `/api/sessions/${q(sessionId)}/resume`),
  setMode: (sessionId: string, mode: SessionMode) => request<Session>('PATCH', `/api/sessions/${q(sessionId)}`, { mode }),
  stop: (sessionId: string) => request<Session>('DELETE', `/api/sessions/${q(sessionId)}`),
  archive: (sessionId: string, archived: boolean) =>
    request<Session>('POST', `/api/sessions/${q(sessionId)}/${archived ? 'archive' : 'unarchive'}`),

  approvals: (status?: 'pending' | 'decided', sessionId?: string) => {
    const params = new URLSearchParams();
    if (status) params.set('status', status);
    if (sessionId) params.set('sessionId', sessionId);
    const query = params.toString();
    return request<Approval[]>('GET', `/api/approvals${query ? `?${query}` : ''}`);
  },
  decide: (id: string, decision: Decision, extra?: { message?: string; updatedInput?: unknown }) =>
    request<{ id: string; status: string; decision: Decision }>('POST', `/api/approvals/${q(id)}/decision`, { decision, ...extra }),

  /** Answers an agent's question: one answer per question, in order (chosen option labels and/or the owner's own words). */
  answer: (id: string, answers: QuestionAnswer[]) =>
    request<{ id: string; status: string; decision: Decision }>('POST', `/api/approvals/${q(id)}/answer`, { answers }),

  rules: (projectId: string) => request<Rule[]>('GET', `/api/projects/${q(projectId)}/rules`),
  addRule: (projectId: string, rule: { tool: string; pattern: string; action: Rule['action'] }) =>
    request<Rule>('POST', `/api/projects/${q(projectId)}/rules`, rule),
  changeRule: (projectId: string, ruleId: string, rule: { tool: string; pattern: string; action: Rule['action'] }) =>
    request<Rule>('PUT', `/api/projects/${q(projectId)}/rules/${q(ruleId)}`, rule),
  previewRule: (projectId: string, rule: { tool: string; pattern: string; action: Rule['action'] }) =>
    request<RulePreview>('POST', `/api/projects/${q(projectId)}/rules/preview`, rule),
  removeRule: (projectId: string, ruleId: string) => request<void>('DELETE', `/api/projects/${q(projectId)}/rules/${q(ruleId)}`),

  // Files, git and commands take an optional `session`: act on that session's worktree instead of the project's folder.
  files: (projectId: string, path = '', session?: string) => request<DirectoryListing>('GET', scoped(`/api/projects/${q(projectId)}/files?path=${q(path)}`, session)),
  file: (projectId: string, path: string, session?: string) => request<FileContent>('GET', scoped(`/api/projects/${q(projectId)}/files/content?path=${q(path)}`, session)),
  /** Saves only over the version the editor read (`sha256`); else FILE_CHANGED (412) and nothing is written. */
  writeFile: (projectId: string, path: string, content: string, replaces: string, session?: string) =>
    request<FileWritten>('PUT', scoped(`/api/projects/${q(projectId)}/files/content?path=${q(path)}`, session), undefined, { text: content, headers: { 'if-match': `"${replaces}"` } }),

  gitStatus: (projectId: string, session?: string) => request<GitStatus>('GET', scoped(`/api/projects/${q(projectId)}/git/status`, session)),
  gitDiff: (projectId: string, path: string, staged: boolean, session?: string) =>
    request<GitDiff>('GET', scoped(`/api/projects/${q(projectId)}/git/diff?path=${q(path)}&staged=${staged}`, session)),
  gitLog: (projectId: string, skip = 0, session?: string) => request<GitLog>('GET', scoped(`/api/projects/${q(projectId)}/git/log?skip=${skip}&limit=50`, session)),
  gitCommitDetail: (projectId: string, sha: string, session?: string) => request<GitCommitDetail>('GET', scoped(`/api/projects/${q(projectId)}/git/commits/${q(sha)}`, session)),
  gitDiscard: (projectId: string, paths: string[], includeStaged = false, session?: string) =>
    request<GitStatus>('POST', scoped(`/api/projects/${q(projectId)}/git/discard`, session), { paths, includeStaged }),
  gitBranches: (projectId: string, session?: string) => request<GitBranches>('GET', scoped(`/api/projects/${q(projectId)}/git/branches`, session)),
  gitStage: (projectId: string, paths: string[], session?: string) => request<GitStatus>('POST', scoped(`/api/projects/${q(projectId)}/git/stage`, session), { paths }),
  gitUnstage: (projectId: string, paths: string[], session?: string) => request<GitStatus>('POST', scoped(`/api/projects/${q(projectId)}/git/unstage`, session), { paths }),
  ledgerHead: () => request<{ seq: number; hash: string }>('GET', '/api/ledger/head'),
  ledgerEntry: async (seq: number) =>
    (await request<{ entries: { seq: number; hash: string }[] }>('GET', `/api/ledger?after=${seq - 1}&limit=1`)).entries.find((e) => e.seq === seq) ?? null,
  gitSetIdentity: (projectId: string, name: string, email: string) =>
    request<{ name: string | null; email: string | null }>('PUT', `/api/projects/${q(projectId)}/git/identity`, { name, email }),
  gitCommit: (projectId: string, message: string, session?: string) => request<{ sha: string; branch?: string }>('POST', scoped(`/api/projects/${q(projectId)}/git/commit`, session), { message }),
  gitPush: (projectId: string, session?: string) => request<{ ok: boolean; branch?: string; upstream?: string; output?: string }>('POST', scoped(`/api/projects/${q(projectId)}/git/push`, session)),
  gitCheckout: (projectId: string, ref: string, session?: string) => request<{ ok: boolean; branch?: string }>('POST', scoped(`/api/projects/${q(projectId)}/git/checkout`, session), { ref }),
  gitBranch: (projectId: string, name: string, session?: string) =>
    request<{ ok: boolean; branch?: string }>('POST', scoped(`/api/projects/${q(projectId)}/git/branch`, session), { name, checkout: true }),

  runCommand: (projectId: string, command: string, session?: string) => request<{ id: string }>('POST', scoped(`/api/projects/${q(projectId)}/commands`, session), { command }),
  commands: (projectId: string) => request<CommandRun[]>('GET', `/api/projects/${q(projectId)}/commands?limit=20`),
  command: (id: string) => request<CommandRun>('GET', `/api/commands/${q(id)}`),
  cancelCommand: (id: string) => request<void>('POST', `/api/commands/${q(id)}/cancel`),

  /** The project's shell, or with `session` the shell of that session's worktree (a separate one). */
  openTerminal: (projectId: string, cols: number, rows: number, session?: string) =>
    request<{ screen: TerminalScreen }>('POST', scoped(`/api/projects/${q(projectId)}/terminal`, session), { cols, rows }),
  terminalInput: (projectId: string, input: { text?: string; keys?: string[] }, session?: string) =>
    request<void>('POST', scoped(`/api/projects/${q(projectId)}/terminal/input`, session), input),
  terminalEventsUrl: (projectId: string, session?: string) => scoped(`/api/projects/${q(projectId)}/terminal/events`, session),

  notifications: () => request<NotificationsState>('GET', '/api/notifications'),
  saveNotificationSettings: (settings: NotificationSettings) => request<NotificationSettings>('PUT', '/api/notifications/settings', settings),
  subscribeWebPush: (subscription: PushSubscriptionJSON) => request<NotificationChannel>('PUT', '/api/notifications/web-push', subscription),
  unsubscribeWebPush: () => request<void>('DELETE', '/api/notifications/web-push'),
  setNtfy: (topicUrl: string, token?: string) => request<NotificationChannel>('PUT', '/api/notifications/ntfy', { topicUrl, token: token || null }),
  removeNtfy: () => request<void>('DELETE', '/api/notifications/ntfy'),
  testNotification: () => request<NotificationDelivery[]>('POST', '/api/notifications/test'),
  presence: (visible: boolean) => request<void>('POST', '/api/notifications/presence', { visible }, { keepalive: true }),
};

/** Words for an error a person can act on. */
export function describeError(error: unknown): string {
  if (error instanceof NetworkError) return 'You are offline, or the server cannot be reached.';
  if (error instanceof ApiError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}
