import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, describeError, type ChangedFile, type RewindOthers, type RewindPreview, type SessionOffers, type TurnChanges, type WorktreeDiff } from '../api';
import { AppBar, Empty, ErrorNote } from '../components/ui';
import { navigate } from '../router';
import { Diff, type LineRef } from '../components/Diff';
import { parseUnifiedDiff } from '../diff';
import { stepFile, swipeStep } from '../filePager';
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

interface LineComment { ref: LineRef; text: string }

/** A quoted line is the repository's text in the owner's message: cut short, so a long line cannot pass for their words. */
const QUOTE_LIMIT = 200;

/** The comments as one message to the agent: each with its file and line, the line quoted, then what to change. */
export function commentsMessage(comments: readonly LineComment[]): string {
  const quote = (text: string) => (text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text);
  const items = comments.map((c, i) => `${i + 1}. ${c.ref.path}:${c.ref.line}${c.ref.side === 'old' ? ' (a removed line)' : ''}\n`
    + `   > ${quote(c.ref.text.trim()) || '(an empty line)'}\n   ${c.text.trim().split('\n').join('\n   ')}`);
  return `Please fix these:\n\n${items.join('\n\n')}`;
}

/** The one message a submitted review sends: the owner's summary, then every line comment (either may be absent, not both). */
export function reviewMessage(summary: string, comments: readonly LineComment[]): string {
  return [summary.trim(), comments.length ? commentsMessage(comments) : ''].filter(Boolean).join('\n\n');
}

/**
 * What one turn changed in the project, file by file, with "looks good" or "ask for changes" sent back to the agent; and
 * comments on single lines (a long press on a line, or "Pick a line…" then a tap on its number), gathered in a tray and
 * sent as one message.
 */
export function TurnReview({ sessionId, turn }: { sessionId: string; turn: number }) {
  const [changes, setChanges] = useState<TurnChanges | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [comments, setComments] = useState<LineComment[]>([]);
  const [commenting, setCommenting] = useState<LineRef | null>(null);
  const [picking, setPicking] = useState(false);
  const [draft, setDraft] = useState('');
  // One file at a time, swiped (or stepped with the buttons) through; the comments stay in the tray whichever is shown.
  const [current, setCurrent] = useState(0);
  const files = useMemo(() => (changes?.diff ? parseUnifiedDiff(changes.diff) : []), [changes?.diff]);
  const draftBox = useRef<HTMLTextAreaElement>(null);
  // A verdict and comments go to the agent: steering, offered where the server offers it (else its reason, naming who can).
  const [offers, setOffers] = useState<SessionOffers | null>(null);
  useEffect(() => void api.turnChanges(sessionId, turn).then(setChanges, (e) => setError(describeError(e))), [sessionId, turn]);
  useEffect(() => void api.session(sessionId).then((s) => setOffers(s.offers ?? null), () => {}), [sessionId]);
  const steers = offers?.steer === true;
  const commented = comments.length > 0;
  useEffect(() => { if (commenting) draftBox.current?.focus(); }, [commenting]);

  // One way to send a review: its verdict, with the summary and every line comment in one message.
  const review = async (verdict: 'approve' | 'changes') => {
    setBusy(true);
    setError(null);
    try {
      await api.reviewTurn(sessionId, turn, verdict, verdict === 'changes' ? reviewMessage(message, comments) : undefined);
      setComments([]);
      navigate(`/s/${sessionId}`, { replace: true });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  const comment = (ref: LineRef) => {
    const existing = comments.find((c) => c.ref.path === ref.path && c.ref.line === ref.line && c.ref.side === ref.side);
    setDraft(existing?.text ?? '');
    setCommenting(ref);
    // A comment opened from the tray shows its file.
    const at = files.findIndex((f) => f.path === ref.path);
    if (at >= 0) setCurrent(at);
  };
  const keep = () => {
    if (!commenting || !draft.trim()) return;
    const ref = commenting;
    setComments((all) => [...all.filter((c) => !(c.ref.path === ref.path && c.ref.line === ref.line && c.ref.side === ref.side)), { ref, text: draft.trim() }]);
    setCommenting(null);
    setDraft('');
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
        {changes?.diff && steers && (
          <div class="row comment-hint">
            <p class="fine grow">{picking ? 'Tap a line\'s number to comment on it.' : 'Press and hold a line to comment on it.'}</p>
            <button type="button" class="btn ghost small" aria-pressed={picking} onClick={() => setPicking(!picking)}>{picking ? 'Done' : 'Pick a line…'}</button>
          </div>
        )}
        {changes?.diff && (files.length > 1
          ? <FilePages files={files} current={current} onMove={setCurrent} onComment={steers ? comment : undefined} picking={picking} commented={comments.map((c) => c.ref)} />
          : <UnifiedDiff text={changes.diff} onComment={steers ? comment : undefined} picking={picking} commented={comments.map((c) => c.ref)} />)}
        {changes?.truncated && <p class="fine">The diff was cut at 2 MB.</p>}
        {commenting && (
          <form class="comment-sheet card stack" aria-label="Comment on a line" onSubmit={(e) => { e.preventDefault(); keep(); }}>
            <div class="small"><strong class="mono-name">{commenting.path}:{commenting.line}</strong></div>
            <pre class="comment-quote">{commenting.text || ' '}</pre>
            <label class="field">
              <span>Your comment</span>
              <textarea ref={draftBox} rows={3} value={draft} onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)} />
            </label>
            <div class="row">
              <button type="button" class="btn ghost" onClick={() => setCommenting(null)}>Cancel</button>
              <button type="submit" class="btn primary grow" disabled={!draft.trim()}>Add comment</button>
            </div>
          </form>
        )}
        {changes && changes.files.length > 0 && offers && !steers && (
          <p class="muted small steer-refusal" data-testid="steer-refusal">{offers.steerRefusal ?? 'You may not steer this session.'}</p>
        )}
        {changes && changes.files.length > 0 && !commenting && steers && (
          <div class="sticky-actions stack">
            {comments.length > 0 && (
              <section class="comment-tray card" aria-label="Your comments">
                <ul class="plain">
                  {comments.map((c) => (
                    <li key={`${c.ref.path}:${c.ref.side}:${c.ref.line}`} class="comment-item">
                      <button type="button" class="comment-open" onClick={() => comment(c.ref)}>
                        <span class="mono-name small">{c.ref.path}:{c.ref.line}</span>
                        <span class="comment-text">{c.text}</span>
                      </button>
                      <button type="button" class="btn ghost small" aria-label={`Remove the comment on ${c.ref.path} line ${c.ref.line}`}
                        onClick={() => setComments((all) => all.filter((x) => x !== c))}>Remove</button>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {(asking || commented) && (
              <label class="field">
                <span>{commented ? 'Anything else? (optional)' : 'What should change?'}</span>
                <textarea rows={3} value={message} onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
              </label>
            )}
            <div class="row">
              {asking && !commented && <button class="btn ghost" disabled={busy} onClick={() => setAsking(false)}>Cancel</button>}
              {!asking && !commented && <button class="btn ghost grow" disabled={busy} onClick={() => setAsking(true)}>Ask for changes…</button>}
              {asking || commented
                ? <button class="btn primary grow" disabled={busy || (!commented && !message.trim())} onClick={() => void review('changes')}>
                  Submit review{commented ? ` (${comments.length} comment${comments.length === 1 ? '' : 's'})` : ''}
                </button>
                : <button class="btn primary grow" disabled={busy} onClick={() => void review('approve')}>Looks good</button>}
            </div>
          </div>
        )}
        {changes && steers && !commenting && <GoBack sessionId={sessionId} turn={turn} />}
      </main>
    </>
  );
}

type GoBackChoice = 'rewind' | 'fork';

/** What each choice does, said before it is done (the files are the owner's). */
export function goBackWarning(choice: GoBackChoice, turn: number): string {
  return choice === 'rewind'
    ? `The project's files go back to how they were before turn ${turn}: the agent's changes since, this turn's and the later ones', are undone. `
      + `This session stops, and a new one ${turn > 1 ? `carries the conversation on from turn ${turn - 1}` : 'starts the conversation afresh'}.`
    : `A new session starts on a branch of its own, its files as they were before turn ${turn}, its conversation up to there. `
      + 'This session and the project\'s files stay as they are.';
}

/** What a rewind does to each path, as the confirmation lists it: the files changed outside the agent are kept, or put back with the rest. */
export function rewindLists(preview: Pick<RewindPreview, 'files' | 'others'>, others: RewindOthers): { restore: string[]; remove: string[]; kept: string[] } {
  const done = others === 'discard' ? [...preview.files, ...preview.others] : preview.files;
  const paths = (action: string) => done.filter((f) => f.action === action).map((f) => f.path).sort();
  return { restore: paths('restore'), remove: paths('delete'), kept: others === 'keep' ? preview.others.map((f) => f.path).sort() : [] };
}

/** At most this many paths of each list are shown; the rest are counted. */
const LISTED = 8;

function PathList({ title, paths, testId }: { title: string; paths: string[]; testId: string }) {
  if (paths.length === 0) return null;
  return (
    <div class="stack rewind-list" data-testid={testId}>
      <span class="small"><strong>{title}</strong> ({paths.length})</span>
      <ul class="plain small">
        {paths.slice(0, LISTED).map((p) => <li key={p} class="mono-name">{p}</li>)}
        {paths.length > LISTED && <li class="muted">and {paths.length - LISTED} more</li>}
      </ul>
    </div>
  );
}

/**
 * Rewind to before this turn, or fork a new session from it: offered only with the right to steer (as the server decides),
 * each confirmed with what it does to the files. A rewind lists, from the server's preview, what it puts back and deletes, and the
 * files changed outside the agent's turns since, kept unless the owner chooses to put them back too; a refusal (a turn running)
 * is shown as the server says it.
 */
function GoBack({ sessionId, turn }: { sessionId: string; turn: number }) {
  const [confirming, setConfirming] = useState<GoBackChoice | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<RewindPreview | null>(null);
  const [others, setOthers] = useState<RewindOthers>('keep');
  const ask = (choice: GoBackChoice) => {
    setConfirming(choice);
    setError(null);
    setPreview(null);
    setOthers('keep');
    if (choice === 'rewind') {
      api.rewindPreview(sessionId, turn).then(setPreview, (e) => {
        setError(describeError(e));
        setConfirming(null);
      });
    }
  };
  const go = async (choice: GoBackChoice) => {
    setBusy(true);
    setError(null);
    try {
      const next = choice === 'rewind' ? await api.rewindTurn(sessionId, turn, others) : await api.forkTurn(sessionId, turn);
      navigate(`/s/${next.id}`);
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
      setConfirming(null);
    }
  };
  const lists = preview && rewindLists(preview, others);
  return (
    <section class="card stack go-back" aria-label="Go back to this turn">
      <ErrorNote error={error} />
      {confirming ? (
        <>
          <p class="small" data-testid="go-back-warning">{goBackWarning(confirming, turn)}</p>
          {confirming === 'rewind' && !preview && <p class="muted small">Working out what it would change…</p>}
          {lists && (
            <div class="stack" data-testid="rewind-preview">
              {lists.restore.length + lists.remove.length === 0 && <p class="small">No file needs to change.</p>}
              <PathList title="Put back as they were" paths={lists.restore} testId="rewind-restore" />
              <PathList title="Deleted (not there then)" paths={lists.remove} testId="rewind-delete" />
              {preview.others.length > 0 && (
                <fieldset class="stack rewind-others">
                  <legend class="small">
                    {preview.others.length === 1 ? '1 file was' : `${preview.others.length} files were`} changed outside the agent's turns since
                    (by you, or another program):
                  </legend>
                  <label class="row small"><input type="radio" name="others" checked={others === 'keep'} onChange={() => setOthers('keep')} /> Keep them as they are</label>
                  <label class="row small"><input type="radio" name="others" checked={others === 'discard'} onChange={() => setOthers('discard')} /> Put them back too</label>
                  <PathList title="Kept as they are" paths={lists.kept} testId="rewind-kept" />
                </fieldset>
              )}
              <p class="fine">You can undo the rewind for {preview.undoHours} hours, while the files stay as it leaves them.</p>
            </div>
          )}
          <div class="row">
            <button type="button" class="btn ghost" disabled={busy} onClick={() => setConfirming(null)}>Cancel</button>
            <button type="button" class="btn primary grow" disabled={busy || (confirming === 'rewind' && !preview)} onClick={() => void go(confirming)}>
              {confirming === 'rewind' ? 'Rewind' : 'Fork'}
            </button>
          </div>
        </>
      ) : (
        <div class="row">
          <button type="button" class="btn ghost grow" onClick={() => ask('rewind')}>Rewind to here</button>
          <button type="button" class="btn ghost grow" onClick={() => ask('fork')}>Fork from here</button>
        </div>
      )}
    </section>
  );
}

/**
 * A review's files one at a time: a sideways swipe on the diff moves to the next or previous file, as do the buttons above it
 * (for a keyboard, a switch or a screen reader). Lines commented on in any file stay marked whichever file is shown.
 */
function FilePages({ files, current, onMove, onComment, picking, commented }: {
  files: ReturnType<typeof parseUnifiedDiff>; current: number; onMove: (index: number) => void;
  onComment?: (ref: LineRef) => void; picking: boolean; commented: LineRef[];
}) {
  const start = useRef<{ x: number; y: number; scroller: Element | null; left: number } | null>(null);
  const shown = Math.min(current, files.length - 1);
  const file = files[shown]!;
  const move = (step: -1 | 0 | 1) => {
    const next = stepFile(shown, step, files.length);
    if (next !== shown) onMove(next);
  };
  const notes = commented.filter((c) => c.path === file.path).length;
  return (
    <section class="file-pages" aria-label="Changed files, one at a time" data-file={shown + 1} data-files={files.length}>
      <div class="file-pager row">
        <button type="button" class="btn ghost" aria-label="Previous file" disabled={shown === 0} onClick={() => move(-1)}>‹</button>
        <div class="grow file-pager-name" aria-live="polite">
          <span class="muted small">File {shown + 1} of {files.length}{notes ? ` · ${notes} comment${notes === 1 ? '' : 's'}` : ''}</span>
          <span class="mono-name small">{file.path}</span>
        </div>
        <button type="button" class="btn ghost" aria-label="Next file" disabled={shown === files.length - 1} onClick={() => move(1)}>›</button>
      </div>
      <div
        class="file-page-swipe"
        onTouchStart={(e) => {
          const t = e.touches[0];
          const scroller = (e.target as Element).closest('.diff-body');
          start.current = t && e.touches.length === 1 ? { x: t.clientX, y: t.clientY, scroller, left: scroller?.scrollLeft ?? 0 } : null;
        }}
        onTouchEnd={(e) => {
          const from = start.current;
          const t = e.changedTouches[0];
          start.current = null;
          if (!from || !t) return;
          move(swipeStep(t.clientX - from.x, t.clientY - from.y, (from.scroller?.scrollLeft ?? 0) !== from.left));
        }}
      >
        <Diff key={file.path} files={[file]} onComment={onComment} picking={picking} commented={commented} />
      </div>
    </section>
  );
}
