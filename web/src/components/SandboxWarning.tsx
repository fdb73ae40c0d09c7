import { useState } from 'preact/hooks';
import { api, describeError, type Project } from '../api';
import { upsertProject } from '../store';

/**
 * A project whose sandbox does not work on the machine starts no session (the server refuses, SANDBOX_UNAVAILABLE): the owner
 * sees why, and chooses here or on the machine. Nothing runs unsandboxed unless they say so.
 */
export function SandboxWarning({ project }: { project: Project }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!project.sandboxProblem) return null;

  const runUnsandboxed = async () => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateProject(project.id, { sandbox: 'none' });
      upsertProject(updated);
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
  };

  return (
    <div class="warn-note sandbox-warning" role="alert">
      <p><strong>Sessions of this project cannot start: its sandbox does not work on your machine.</strong></p>
      <p class="small">{project.sandboxProblem}</p>
      {error && <p class="small">{error}</p>}
      <button type="button" class="btn" disabled={busy} onClick={() => void runUnsandboxed()}>
        Run this project without a sandbox
      </button>
    </div>
  );
}
