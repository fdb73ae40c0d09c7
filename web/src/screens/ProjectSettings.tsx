import { useState } from 'preact/hooks';
import { SandboxWarning } from '../components/SandboxWarning';
import { api, describeError } from '../api';
import { ProfilesSection } from '../components/Profiles';
import { McpServersSection } from '../components/McpServers';
import { AppBar, ErrorNote } from '../components/ui';
import { TeamPolicySection } from '../components/TeamPolicy';
import { navigate } from '../router';
import { refresh, upsertProject, useProject } from '../store';

const TIMEOUTS: { seconds: number | null; label: string }[] = [
  { seconds: null, label: 'Never: wait for me' },
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 28800, label: '8 hours' },
];

/** A project's approval timeout, its sandbox, where sessions work, its profiles, and removing the project (its sessions stop; its folder is never touched). */
export function ProjectSettings({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);

  if (!project) {
    return (<><AppBar back="/" title="Settings" /><main class="page"><ErrorNote error={error ?? 'No such project.'} /></main></>);
  }
  const current = project.approvalTimeoutSeconds ?? null;
  const known = TIMEOUTS.some((t) => t.seconds === current);

  const setTimeoutTo = async (seconds: number | null) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateProject(projectId, { approvalTimeoutSeconds: seconds });
      upsertProject(updated);
      setNote(seconds === null ? 'Approvals wait for you as long as it takes.' : `Unanswered approvals are denied after ${TIMEOUTS.find((t) => t.seconds === seconds)?.label ?? `${seconds} s`}.`);
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  const setWorktreeDefault = async (worktreeDefault: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateProject(projectId, { worktreeDefault });
      upsertProject(updated);
      setNote(worktreeDefault
        ? 'New sessions start on a branch of their own; New session can still choose the project folder.'
        : 'New sessions start in the project folder; New session can still choose a branch of their own.');
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  const setSandbox = async (sandbox: 'sandboxed' | 'none') => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateProject(projectId, { sandbox });
      upsertProject(updated);
      setNote(sandbox === 'sandboxed'
        ? 'New sessions run sandboxed. Sessions already running keep how they started.'
        : 'New sessions run without a sandbox: an allowed command can reach anything you can.');
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  const remove = async () => {
    setBusy(true);
    try {
      await api.removeProject(projectId);
      await refresh();
      navigate('/', { replace: true });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  // Changing the project is offered where the server offers to manage it; the others read who decides what, and the budget.
  if (project.offers?.manage !== true) {
    return (
      <>
        <AppBar back="/" title="Settings" subtitle={project.name} />
        <main class="page settings"><TeamPolicySection projectId={projectId} editable={false} /></main>
      </>
    );
  }

  return (
    <>
      <AppBar back="/" title="Settings" subtitle={project.name} />
      <main class="page settings">
        <ErrorNote error={error} />
        {note && <p class="muted small" role="status">{note}</p>}
        <section class="card pad">
          <h2>Approval timeout</h2>
          <p class="muted small">An approval nobody answers in this time is denied, visibly, by “timeout”. Your phone is told shortly before.</p>
          <label class="field">
            <span class="sr-only">Approval timeout</span>
            <select name="approvalTimeout" value={String(current)} disabled={busy}
              onChange={(e) => { const v = e.currentTarget.value; void setTimeoutTo(v === 'null' ? null : Number(v)); }}>
              {!known && <option value={String(current)}>{current} seconds</option>}
              {TIMEOUTS.map((t) => <option key={String(t.seconds)} value={String(t.seconds)}>{t.label}</option>)}
            </select>
          </label>
        </section>
        <section class="card pad">
          <h2>Sandbox</h2>
          <p class="muted small">
            Sandboxed, the agent and every command it runs can change only this project (and the agent's own settings);
            your SSH keys and other credentials, PocketCoder's data and your other projects are out of its sight.
          </p>
          <SandboxWarning project={project} />
          <label class="field">
            <span class="sr-only">Sandbox</span>
            <select name="sandbox" value={project.sandbox} disabled={busy}
              onChange={(e) => void setSandbox(e.currentTarget.value === 'none' ? 'none' : 'sandboxed')}>
              <option value="sandboxed">Sandboxed (recommended)</option>
              <option value="none">None: commands reach what you can</option>
            </select>
          </label>
        </section>
        <section class="card pad">
          <h2>Where new sessions work</h2>
          <p class="muted small">On a branch of its own, each session works in a separate git worktree: agents never trample each other, and nothing changes here until you merge.</p>
          <label class="field">
            <span class="sr-only">Where new sessions work</span>
            <select name="worktree-default" value={project.worktreeDefault ? 'worktree' : 'project'} disabled={busy}
              onChange={(e) => void setWorktreeDefault(e.currentTarget.value === 'worktree')}>
              <option value="project">In the project folder</option>
              <option value="worktree">On a branch of its own</option>
            </select>
          </label>
        </section>
        <TeamPolicySection projectId={projectId} editable />
        <McpServersSection projectId={projectId} />
        <ProfilesSection projectId={projectId} />
        <section class="card pad danger-zone">
          <h2>Remove project</h2>
          <p class="muted small">Stops its sessions and forgets it here. The folder <code>{project.path}</code> and its files are not touched; the ledger keeps its history.</p>
          {confirm
            ? (
              <div class="row">
                <button class="btn ghost" disabled={busy} onClick={() => setConfirm(false)}>Keep it</button>
                <button class="btn danger grow" disabled={busy} onClick={() => void remove()}>Remove it</button>
              </div>
            )
            : <button class="btn danger-ghost" disabled={busy} onClick={() => setConfirm(true)}>Remove project…</button>}
        </section>
      </main>
    </>
  );
}
