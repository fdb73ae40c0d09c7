import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type McpServer, type McpState } from '../api';
import { agentName } from '../agents';
import { ErrorNote } from './ui';

const STATES: Record<McpState, string> = {
  enabled: 'On',
  disabled: 'Off',
  needs_approval: 'Waiting for you',
  changed: 'Changed since you enabled it',
  unusable: 'Cannot be used',
};

/** Where a server comes from, in words. */
export function mcpOrigin(s: McpServer): string {
  if (s.origin === 'pocketcoder') return 'Added here';
  if (s.origin === 'repository') return "The repository's .mcp.json";
  return `${agentName(s.origin)}'s own config`;
}

/** "NAME=value" lines (or "Name: value" for headers) as pairs; a line without the separator is an error for the owner. */
export function parsePairs(text: string, separator: '=' | ':'): Record<string, string> | string {
  const pairs: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.indexOf(separator);
    if (at <= 0) return `"${line.slice(0, 40)}" is not NAME${separator}value.`;
    pairs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return pairs;
}

type Draft = { name: string; kind: 'command' | 'url'; command: string; args: string; url: string; env: string; headers: string };
const blank: Draft = { name: '', kind: 'command', command: '', args: '', url: '', env: '', headers: '' };

/**
 * A project's MCP servers: those added here, and those the repository or an agent's own config declares. A declared one
 * starts only once the owner has looked at what it runs and enabled it; changed since, it waits for them again.
 */
export function McpServersSection({ projectId }: { projectId: string }) {
  const [servers, setServers] = useState<McpServer[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = () => api.mcpServers(projectId).then(setServers).catch((e) => setError(describeError(e)));
  useEffect(() => { void load(); }, [projectId]);

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await load();
    } catch (err) {
      setError(describeError(err));
    }
    setBusy(false);
  };
  const add = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    const env = parsePairs(draft.env, '=');
    const headers = parsePairs(draft.headers, ':');
    if (typeof env === 'string' || typeof headers === 'string') {
      setError(typeof env === 'string' ? env : (headers as string));
      return;
    }
    await act(async () => {
      await api.addMcpServer(projectId, draft.kind === 'command'
        ? { name: draft.name.trim(), command: draft.command.trim(), args: draft.args.split('\n').map((a) => a.trim()).filter(Boolean), env }
        : { name: draft.name.trim(), url: draft.url.trim(), headers });
      setDraft(null);
    });
  };
  const set = (change: Partial<Draft>) => setDraft((d) => (d ? { ...d, ...change } : d));

  return (
    <section class="card pad" aria-label="MCP servers">
      <h2>MCP servers</h2>
      <p class="muted small">
        Tools from MCP servers, given to this project's sessions (Claude Code, Codex and ACP agents). Every call to one is
        still asked about. A server the repository declares starts only once you enable it, and again after any change to it.
      </p>
      <ErrorNote error={error} />
      <ul class="list">
        {servers.map((s) => (
          <li key={`${s.origin}/${s.name}`} class="list-row wrap-row mcp-server" data-mcp={s.name} data-state={s.state}>
            <div class="grow">
              <strong>{s.name}</strong> <span class={`badge ${s.enabled ? 'badge-run' : s.state === 'disabled' ? '' : s.state === 'unusable' ? 'badge-bad' : 'badge-wait'}`}>{STATES[s.state]}</span>
              <div class="muted small">{mcpOrigin(s)} · for {s.agents.map(agentName).join(', ')}</div>
              {s.transport && (
                <code class="small mcp-runs">{s.transport === 'stdio' ? [s.command, ...(s.args ?? [])].join(' ') : s.url}</code>
              )}
              {[...s.env, ...s.headers].length > 0 && (
                <div class="muted small">
                  {s.env.length > 0 && <>Variables: {s.env.map((v) => (v.value === null ? v.name : `${v.name}=${v.value}`)).join(', ')}. </>}
                  {s.headers.length > 0 && <>Headers: {s.headers.map((v) => (v.value === null ? v.name : `${v.name}: ${v.value}`)).join(', ')}.</>}
                </div>
              )}
              {s.problem && <div class="small mcp-problem">{s.problem}</div>}
            </div>
            {s.state !== 'unusable' && (
              <button class={`btn small ${s.enabled ? '' : 'primary'}`} disabled={busy} onClick={() => void act(() => api.setMcpServer(projectId, s, !s.enabled))}>
                {s.enabled ? 'Turn off' : s.state === 'disabled' && s.origin === 'pocketcoder' ? 'Turn on' : 'Enable what is shown'}
              </button>
            )}
            {s.origin === 'pocketcoder' && (
              <button class="btn danger-ghost small" disabled={busy} onClick={() => void act(() => api.removeMcpServer(projectId, s))}>Remove</button>
            )}
          </li>
        ))}
      </ul>
      {!draft && <button class="btn" disabled={busy} onClick={() => setDraft({ ...blank })}>Add a server</button>}
      {draft && (
        <form class="stack" onSubmit={add} aria-label="New MCP server">
          <label class="field"><span>Name <span class="muted">(letters, digits, - and _)</span></span>
            <input name="mcp-name" value={draft.name} maxLength={64} required pattern="[A-Za-z0-9_\-]+" autoCapitalize="off" spellcheck={false}
              onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} /></label>
          <label class="field"><span>Kind</span>
            <select name="mcp-kind" value={draft.kind} onChange={(e) => set({ kind: (e.target as HTMLSelectElement).value as Draft['kind'] })}>
              <option value="command">A program the agent starts (stdio)</option>
              <option value="url">A server at a URL (streamable HTTP)</option>
            </select></label>
          {draft.kind === 'command'
            ? (
              <>
                <label class="field"><span>Command</span>
                  <input name="mcp-command" value={draft.command} required autoCapitalize="off" spellcheck={false} placeholder="npx"
                    onInput={(e) => set({ command: (e.target as HTMLInputElement).value })} /></label>
                <label class="field"><span>Arguments <span class="muted">(one per line)</span></span>
                  <textarea name="mcp-args" rows={3} value={draft.args} autoCapitalize="off" spellcheck={false} placeholder={'-y\n@modelcontextprotocol/server-github'}
                    onInput={(e) => set({ args: (e.target as HTMLTextAreaElement).value })} /></label>
                <label class="field"><span>Variables <span class="muted">(NAME=value per line; kept secret, never shown again)</span></span>
                  <textarea name="mcp-env" rows={2} value={draft.env} autoCapitalize="off" spellcheck={false}
                    onInput={(e) => set({ env: (e.target as HTMLTextAreaElement).value })} /></label>
              </>
            )
            : (
              <>
                <label class="field"><span>URL</span>
                  <input name="mcp-url" type="url" value={draft.url} required autoCapitalize="off" spellcheck={false} placeholder="https://…/mcp"
                    onInput={(e) => set({ url: (e.target as HTMLInputElement).value })} /></label>
                <label class="field"><span>Headers <span class="muted">(Name: value per line; kept secret, never shown again)</span></span>
                  <textarea name="mcp-headers" rows={2} value={draft.headers} autoCapitalize="off" spellcheck={false}
                    onInput={(e) => set({ headers: (e.target as HTMLTextAreaElement).value })} /></label>
              </>
            )}
          <div class="row">
            <button class="btn ghost" type="button" disabled={busy} onClick={() => setDraft(null)}>Cancel</button>
            <button class="btn primary grow" type="submit" disabled={busy || !draft.name.trim()}>Add server</button>
          </div>
        </form>
      )}
    </section>
  );
}
