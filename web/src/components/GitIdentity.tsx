import { useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api';
import { ErrorNote } from './ui';

/** git refused to commit or merge because it does not know who the owner is (no user.name / user.email). */
export const identityMissing = (e: unknown): boolean => e instanceof ApiError && e.code === 'GIT_IDENTITY_MISSING';

/**
 * Asked for where git needs an author (a commit, a merge) and has none: a name and an email, saved in the project's own
 * git configuration, after which `onSaved` runs the refused action again. The owner never has to go elsewhere for it.
 */
export function IdentityForm({ projectId, doing, onSaved }: { projectId: string; doing: string; onSaved: (name: string) => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.gitSetIdentity(projectId, name.trim(), email.trim());
      onSaved(name.trim());
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form class="card stack identity" data-testid="git-identity" aria-label="Git author" onSubmit={(e) => void save(e)}>
      <p>git needs to know who you are before it can {doing}. Saved for this project only; then it {doing === 'merge' ? 'merges' : 'commits'}.</p>
      <label class="field"><span>Name</span>
        <input name="gitName" value={name} required autocomplete="name" onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
      <label class="field"><span>Email</span>
        <input name="gitEmail" type="email" value={email} required autocomplete="email" onInput={(e) => setEmail((e.target as HTMLInputElement).value)} /></label>
      <ErrorNote error={error} />
      <button class="btn primary block" type="submit" disabled={busy || !name.trim() || !email.trim()}>{busy ? 'Saving…' : `Save and ${doing}`}</button>
    </form>
  );
}
