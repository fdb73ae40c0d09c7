import { useEffect, useState } from 'preact/hooks';
import { api, describeError, scoped, type Session, type Worktree } from '../api';
import { linkTo } from '../router';
import { useStore } from '../store';
import { ErrorNote } from './ui';
import { identityMissing, IdentityForm } from './GitIdentity';

/**
 * A session on a branch of its own (a git worktree): where it stands against its base, and, between turns, merging it
 * into the base, keeping the branch, or discarding both. A merge that conflicts leaves the base as it was and says where.
 */
export function WorktreeBar({ session, working, turnEndedAt, onStopped }: {
  session: Session; working: boolean; turnEndedAt: number; onStopped: () => void;
}) {
  // As the server offers: merging, keeping or removing the branch are the session's own actions (`offers.stop`: what its
  // route lets this person do), a terminal of one's own is the project's `shell`.
  const acts = session.offers?.stop === true;
  const shell = useStore((s) => s.projects.find((p) => p.id === session.projectId)?.offers?.shell === true);
  const [info, setInfo] = useState<Worktree | null>(null);
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState<'keep' | 'discard' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // A merge refused for want of a git author: the form asks for one, then merges again.
  const [retry, setRetry] = useState<(() => void) | null>(null);

  const load = () => api.worktree(session.id).then(setInfo, (e) => setError(describeError(e)));
  // Again whenever a turn starts or ends: what the branch holds has changed. By the turn's end seq, not only `working`: a
  // whole turn can arrive in one batch of events (a phone catching up), and `working` is then false before and after.
  useEffect(() => { void load(); }, [session.id, working, turnEndedAt]);

  if (!info) return error ? <ErrorNote error={error} /> : null;
  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      setNote(await work());
    } catch (e) {
      if (identityMissing(e)) setRetry(() => () => void act(work));
      else setError(describeError(e));
    }
    // Either way what is shown is the branch as it is now (a merge refused because it moved shows what it moved to).
    await load();
    setBusy(false);
    setConfirm(null);
  };

  return (
    <div class="worktree-bar" data-testid="worktree">
      <button class="worktree-summary" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class="mono small">{info.branch}</span>
        <span class="muted small">
          {info.present ? `${info.changed.length} file${info.changed.length === 1 ? '' : 's'} changed` : 'worktree removed'}
          {info.behind > 0 ? ` · ${info.baseRef} moved on ${info.behind}` : ''}
        </span>
      </button>
      {open && (
        <div class="worktree-details">
          <p class="muted small">Works on its own branch from <span class="mono">{info.baseRef}</span>; your project folder does not change until you merge.</p>
          {/* The files as the branch has them, in the session's worktree. */}
          {info.changed.length > 0 && (
            <ul class="plain small mono">
              {info.changed.slice(0, 30).map((f) => (
                <li key={f}>{info.present ? <a {...linkTo(scoped(`/p/${session.projectId}/file?path=${encodeURIComponent(f)}`, session.id))}>{f}</a> : f}</li>
              ))}
            </ul>
          )}
          {info.present && (
            <div class="row wrap-row">
              <a class="btn ghost small" {...linkTo(`/s/${session.id}/branch`)}>Diff</a>
              <a class="btn ghost small" {...linkTo(scoped(`/p/${session.projectId}/files`, session.id))}>Files</a>
              <a class="btn ghost small" {...linkTo(scoped(`/p/${session.projectId}/git`, session.id))}>Git</a>
              {shell && <a class="btn ghost small" {...linkTo(scoped(`/p/${session.projectId}/terminal`, session.id))}>Terminal</a>}
            </div>
          )}
          <ErrorNote error={error} />
          {retry && <IdentityForm projectId={session.projectId} doing="merge" onSaved={() => { setRetry(null); retry(); }} />}
          {note && <p class="muted small" role="status">{note}</p>}
          {/* Nothing left to merge (the server's word): Merge is not offered again until the agent works on. */}
          {info.merged && <p class="small" data-testid="merged">Merged into <span class="mono">{info.baseRef}</span>.</p>}
          {confirm === null && acts && (
            <div class="row wrap-row">
              {!info.merged && <button class="btn primary" disabled={busy || working} onClick={() => void act(async () => {
                // What this bar shows is what merges: the branch and its files as they were when it was loaded.
                const merged = await api.mergeWorktree(session.id, info);
                return merged.fastForward ? `${merged.baseRef} now has the session's work (fast-forward).` : `Merged into ${merged.baseRef} (${merged.commit.slice(0, 8)}).`;
              })}>Merge into {info.baseRef}</button>}
              {info.present && <button class="btn ghost" disabled={busy} onClick={() => setConfirm('keep')}>Keep branch…</button>}
              <button class="btn danger-ghost" disabled={busy} onClick={() => setConfirm('discard')}>Discard…</button>
            </div>
          )}
          {working && confirm === null && <p class="muted small">Merging waits for the agent's turn to end.</p>}
          {confirm && (
            <div class="confirm">
              <p>{confirm === 'keep'
                ? `Stop the session and remove its worktree? The branch ${info.branch} stays, to merge later.`
                : `Stop the session and delete its worktree and the branch ${info.branch}? Work not merged is lost.`}</p>
              <div class="row">
                <button class="btn ghost" disabled={busy} onClick={() => setConfirm(null)}>Cancel</button>
                <button class={`btn ${confirm === 'discard' ? 'danger' : 'primary'} grow`} disabled={busy} onClick={() => void act(async () => {
                  await api.removeWorktree(session.id, confirm === 'discard');
                  onStopped();
                  return confirm === 'discard' ? 'Discarded.' : `Worktree removed; ${info.branch} kept.`;
                })}>{confirm === 'discard' ? 'Discard' : 'Remove worktree'}</button>
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
