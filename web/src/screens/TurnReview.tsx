import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type ChangedFile, type TurnChanges, type WorktreeDiff } from '../api';
import { AppBar, Empty, ErrorNote } from '../components/ui';
import { navigate } from '../router';
import { UnifiedDiff } from './Git';

const STATUS: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed', T: 'type changed', C: 'copied' };

/** Files with git's status and their line counts (a turn's, or a session branch's against its base). */
export function ChangedFiles({ files }: { files: readonly ChangedFile[] }) {
  return (
    <ul class="list turn-files">
      {files.map((f) => (
        <li key={f.path} class="list-row" data-path={f.path}>
          <span class="grow mono-name">{f.path}</span>
          <span class="muted small">{STATUS[f.status] ?? f.status}{f.added == null ? ' · binary' : ` · +${f.added} −${f.deleted}`}</span>
        </li>
      ))}
    </ul>
  );
}

/** Everything a session's branch changed against the commit it started from, committed or not. */
export function BranchDiff({ sessionId }: { sessionId: string }) {
  const [diff, setDiff] = useState<WorktreeDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void api.worktreeDiff(sessionId).then(setDiff, (e) => setError(describeError(e))), [sessionId]);
  const added = diff?.files.reduce((n, f) => n + (f.added ?? 0), 0) ?? 0;
  const deleted = diff?.files.reduce((n, f) => n + (f.deleted ?? 0), 0) ?? 0;
  return (
    <>
      <AppBar back={`/s/${sessionId}`} title="The branch's changes"
        subtitle={diff && <span class="muted small">{diff.files.length} file{diff.files.length === 1 ? '' : 's'} · +{added} −{deleted} against where it started</span>} />
      <main class="page file-page">
        <ErrorNote error={error} />
        {diff && diff.files.length === 0 && <Empty><p>The branch has not changed anything yet.</p></Empty>}
        {diff && diff.files.length > 0 && <ChangedFiles files={diff.files} />}
        {diff?.diff && <UnifiedDiff text={diff.diff} />}
        {diff?.truncated && <p class="fine">The diff was cut at 2 MB.</p>}
      </main>
    </>
  );
}

/** What one turn changed in the project, file by file, with "looks good" or "ask for changes" sent back to the agent. */
export function TurnReview({ sessionId, turn }: { sessionId: string; turn: number }) {
  const [changes, setChanges] = useState<TurnChanges | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => void api.turnChanges(sessionId, turn).then(setChanges, (e) => setError(describeError(e))), [sessionId, turn]);

  const review = async (verdict: 'approve' | 'changes') => {
    setBusy(true);
    setError(null);
    try {
      await api.reviewTurn(sessionId, turn, verdict, verdict === 'changes' ? message.trim() : undefined);
      navigate(`/s/${sessionId}`, { replace: true });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  const added = changes?.files.reduce((n, f) => n + (f.added ?? 0), 0) ?? 0;
  const deleted = changes?.files.reduce((n, f) => n + (f.deleted ?? 0), 0) ?? 0;
  return (
    <>
      <AppBar back={`/s/${sessionId}`} title="Review changes"
        subtitle={changes && <span class="muted small">{changes.files.length} file{changes.files.length === 1 ? '' : 's'} · +{added} −{deleted}{changes.finished ? '' : ' · cut off, shown up to now'}</span>} />
      <main class="page file-page">
        <ErrorNote error={error} />
        {changes && changes.files.length === 0 && <Empty><p>This turn changed no files.</p></Empty>}
        {changes && changes.files.length > 0 && <ChangedFiles files={changes.files} />}
        {changes?.diff && <UnifiedDiff text={changes.diff} />}
        {changes?.truncated && <p class="fine">The diff was cut at 2 MB.</p>}
        {changes && changes.files.length > 0 && (
          <div class="sticky-actions stack">
            {asking && (
              <label class="field">
                <span>What should change?</span>
                <textarea rows={3} value={message} onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
              </label>
            )}
            <div class="row">
              {asking
                ? <button class="btn ghost" disabled={busy} onClick={() => setAsking(false)}>Cancel</button>
                : <button class="btn ghost grow" disabled={busy} onClick={() => setAsking(true)}>Ask for changes…</button>}
              {asking
                ? <button class="btn primary grow" disabled={busy || !message.trim()} onClick={() => void review('changes')}>Send to the agent</button>
                : <button class="btn primary grow" disabled={busy} onClick={() => void review('approve')}>Looks good</button>}
            </div>
          </div>
        )}
      </main>
    </>
  );
}
