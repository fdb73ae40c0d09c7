import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type McpServer, type Profile, type ProfileFields, type SessionMode } from '../api';
import { modeLabel, MODES } from '../modes';
import { ErrorNote } from './ui';
import { ModelField } from './ModelField';
import { loadHealth, useStore } from '../store';
import { agentName } from '../agents';

/** One line saying what a profile starts: its agent, then each choice it makes. */
export function profileSummary(p: Profile): string {
  return [
    agentName(p.agent),
    p.mode ? modeLabel(p.mode) : null,
    p.model,
    p.worktree === true ? 'own branch' : p.worktree === false ? 'project folder' : null,
    p.instructions ? 'instructions' : null,
    p.mcpServers ? (p.mcpServers.length ? `MCP: ${p.mcpServers.join(', ')}` : 'no MCP servers') : null,
  ].filter(Boolean).join(' · ');
}

const blank: ProfileFields = { name: '', agent: '', model: null, mode: null, worktree: null, instructions: null, mcpServers: null };

/**
 * A project's agent profiles: named ways to start a session (agent, mode, model, where it works, instructions added to
 * the agent's system prompt). New session offers them.
 */
export function ProfilesSection({ projectId }: { projectId: string }) {
  const health = useStore((s) => s.health);
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [servers, setServers] = useState<McpServer[]>([]);
  const [editing, setEditing] = useState<{ id: string | null; fields: ProfileFields } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = () => Promise.all([api.profiles(projectId).then(setProfiles), api.mcpServers(projectId).then(setServers)])
    .catch((e) => setError(describeError(e)));
  useEffect(() => {
    void load();
    void loadHealth();
  }, [projectId]);

  const agents = health?.agents ?? [];
  const save = async (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    setBusy(true);
    setError(null);
    const f = editing.fields;
    const fields: ProfileFields = {
      name: f.name.trim(), agent: f.agent || agents[0]?.id || '', model: f.model?.trim() || null, mode: f.mode ?? null,
      worktree: f.worktree ?? null, instructions: f.instructions?.trim() || null, mcpServers: f.mcpServers ?? null,
    };
    try {
      if (editing.id) await api.updateProfile(projectId, editing.id, fields);
      else await api.createProfile(projectId, fields);
      setEditing(null);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
    setBusy(false);
  };
  const remove = async (p: Profile) => {
    setBusy(true);
    try {
      await api.deleteProfile(projectId, p.id);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
    setBusy(false);
  };
  const set = (change: Partial<ProfileFields>) => setEditing((e) => (e ? { ...e, fields: { ...e.fields, ...change } } : e));

  return (
    <section class="card pad" aria-label="Profiles">
      <h2>Profiles</h2>
      <p class="muted small">Named ways to start a session here: an agent, its mode and model, where it works, and instructions added to its system prompt. New session offers them.</p>
      <ErrorNote error={error} />
      <ul class="list">
        {profiles.map((p) => (
          <li key={p.id} class="list-row wrap-row" data-profile={p.name}>
            <div class="grow"><strong>{p.name}</strong><div class="muted small">{profileSummary(p)}</div></div>
            <button class="btn small" disabled={busy} onClick={() => setEditing({ id: p.id, fields: { ...p } })}>Edit</button>
            <button class="btn danger-ghost small" disabled={busy} onClick={() => void remove(p)}>Remove</button>
          </li>
        ))}
      </ul>
      {!editing && <button class="btn" disabled={busy || agents.length === 0} onClick={() => setEditing({ id: null, fields: { ...blank, agent: agents.find((a) => a.available)?.id ?? agents[0]?.id ?? '' } })}>New profile</button>}
      {editing && (
        <form class="stack" onSubmit={save} aria-label={editing.id ? 'Edit profile' : 'New profile'}>
          <label class="field"><span>Name</span>
            <input name="profile-name" value={editing.fields.name} maxLength={60} required onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} /></label>
          <label class="field"><span>Agent</span>
            <select name="profile-agent" value={editing.fields.agent} onChange={(e) => set({ agent: (e.target as HTMLSelectElement).value })}>
              {agents.map((a) => <option key={a.id} value={a.id}>{agentName(a.id)}{a.available ? '' : ' (not available)'}</option>)}
            </select></label>
          <label class="field"><span>Mode</span>
            <select name="profile-mode" value={editing.fields.mode ?? ''} onChange={(e) => set({ mode: ((e.target as HTMLSelectElement).value || null) as SessionMode | null })}>
              <option value="">As New session says (Ask)</option>
              {MODES.map((m) => <option key={m.id} value={m.id}>{modeLabel(m.id)}</option>)}
            </select></label>
          <ModelField agent={editing.fields.agent || agents[0]?.id || null} value={editing.fields.model ?? ''} onChange={(model) => set({ model })} name="profile-model" />
          <label class="field"><span>Where it works</span>
            <select name="profile-worktree" value={editing.fields.worktree === true ? 'worktree' : editing.fields.worktree === false ? 'project' : ''}
              onChange={(e) => { const v = (e.target as HTMLSelectElement).value; set({ worktree: v === 'worktree' ? true : v === 'project' ? false : null }); }}>
              <option value="">As the project says</option>
              <option value="project">In the project folder</option>
              <option value="worktree">On a branch of its own</option>
            </select></label>
          <label class="field"><span>Instructions <span class="muted">(added to the agent's system prompt)</span></span>
            <textarea name="profile-instructions" rows={4} maxLength={16000} value={editing.fields.instructions ?? ''}
              placeholder="e.g. Review only: never change files. Answer in English." onInput={(e) => set({ instructions: (e.target as HTMLTextAreaElement).value })} /></label>
          <label class="field"><span>MCP servers</span>
            <select name="profile-mcp" value={editing.fields.mcpServers ? 'some' : 'all'}
              onChange={(e) => set({ mcpServers: (e.target as HTMLSelectElement).value === 'some' ? [] : null })}>
              <option value="all">Every server enabled for the project</option>
              <option value="some">Only those ticked below</option>
            </select></label>
          {editing.fields.mcpServers && (
            <fieldset class="stack profile-mcp" aria-label="Profile's MCP servers">
              {servers.length === 0 && <p class="muted small">This project has no MCP servers yet.</p>}
              {[...new Set(servers.map((s) => s.name))].map((name) => (
                <label key={name} class="check"><input type="checkbox" name={`profile-mcp-${name}`} checked={editing.fields.mcpServers!.includes(name)}
                  onChange={(e) => {
                    const chosen = editing.fields.mcpServers!.filter((n) => n !== name);
                    set({ mcpServers: (e.target as HTMLInputElement).checked ? [...chosen, name] : chosen });
                  }} /> {name}</label>
              ))}
            </fieldset>
          )}
          <div class="row">
            <button class="btn ghost" type="button" disabled={busy} onClick={() => setEditing(null)}>Cancel</button>
            <button class="btn primary grow" type="submit" disabled={busy || !editing.fields.name.trim()}>Save profile</button>
          </div>
        </form>
      )}
    </section>
  );
}
