// A link to watch one session (issue #55, docs/security.md "A link to watch"): opened by anyone holding it, in any browser.
// The link's secret is in its fragment, which no request carries: this page posts it once for the watch cookie (HttpOnly,
// this link's only), takes it out of the address, and then shows the session read-only as it runs. The server lets the
// cookie reach this session's stream and changes and nothing else; here nothing offers more (no composer, no decisions).

import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError, type WatchedSession } from '../api';
import { ResumableStream, type Item } from '../events';
import { Transcript } from '../components/Transcript';
import { Loading } from '../components/Loading';
import { addLive, emptyWindow, openAt, type TranscriptWindow } from '../transcriptWindow';
import { Diff } from '../components/Diff';
import { parseUnifiedDiff } from '../diff';

/** A watcher reads what was asked and decided; the cards' buttons are not theirs, so each card is told as a line. */
export function readOnly(items: Item[]): Item[] {
  return items.map((item): Item => {
    if (item.type === 'approval') {
      const a = item.approval;
      const text = a.status === 'pending' ? `Waiting for a decision: ${a.title}`
        : a.status === 'decided' ? `${a.decision === 'deny' ? 'Denied' : 'Allowed'}${a.decidedBy ? ` by ${a.decidedBy}` : ''}: ${a.title}`
          : `Not decided (${a.status}): ${a.title}`;
      return { type: 'notice', seq: item.seq, text, tone: a.status === 'decided' && a.decision === 'deny' ? 'bad' : 'info' };
    }
    if (item.type === 'review') return { type: 'notice', seq: item.seq, text: `Turn ${item.turn} changed ${item.files} file${item.files === 1 ? '' : 's'}.`, tone: 'info' };
    return item;
  });
}

const ended = (e: unknown) => e instanceof ApiError && (e.status === 401 || e.status === 403);

export function WatchPage() {
  const [watched, setWatched] = useState<WatchedSession | null>(null);
  const [win, setWin] = useState<TranscriptWindow>(emptyWindow);
  const [error, setError] = useState<string | null>(null);
  const [gone, setGone] = useState(false);

  useEffect(() => {
    const token = location.hash.slice(1);
    // The secret leaves the address at once: not in history, not in a screenshot of the address bar, not in a Referer.
    if (token) history.replaceState(null, '', '/watch');
    let stream: ResumableStream | undefined;
    let closed = false;
    const start = async () => {
      const session = token ? await api.openWatch(token) : await api.watched();
      if (closed) return;
      setWatched(session);
      const page = await api.sessionEventPage(session.sessionId);
      if (closed) return;
      setWin(openAt(page));
      stream = new ResumableStream({
        url: `/api/sessions/${encodeURIComponent(session.sessionId)}/events`,
        after: page.lastSeq,
        onEvents: (batch) => setWin((w) => addLive(w, batch)),
        // A stream cut (the link revoked or expired, or the network): the page asks whether the link still works.
        onState: (state) => {
          if (state !== 'open') api.watched().catch((e: unknown) => { if (ended(e)) { setGone(true); stream?.close(); } });
        },
      });
    };
    start().catch((e: unknown) => (ended(e) ? setGone(true) : setError(describeError(e))));
    // Another link opened in this tab changes only the fragment (no page load): it is a new start.
    const another = () => location.reload();
    window.addEventListener('hashchange', another);
    return () => {
      closed = true;
      stream?.close();
      window.removeEventListener('hashchange', another);
    };
  }, []);

  if (gone) {
    return (
      <main class="page center" data-testid="watch-ended">
        <h1 class="big">This link no longer works</h1>
        <p class="muted">It was revoked, it expired, or it was copied wrong. Ask whoever sent it for a new one.</p>
      </main>
    );
  }
  return (
    <>
      <header class="appbar">
        <div class="appbar-title">
          <h1 class="title-lines" data-testid="watch-title">{watched ? watched.title || 'Session' : 'Watching'}</h1>
          {watched && <div class="muted small">Watching, read-only · until {new Date(watched.expiresAt).toLocaleString()}</div>}
        </div>
      </header>
      <main class="page transcript-page watch-page">
        {error && <p class="error" role="alert">{error}</p>}
        {!watched && !error && <Loading />}
        <Transcript items={readOnly(win.view.items)} />
        {win.view.turnActive && <div class="working" aria-label="Agent working"><span class="spinner small" /> Working…</div>}
        {watched && <TurnsChanged sessionId={watched.sessionId} items={win.view.items} />}
      </main>
    </>
  );
}

/** What each turn changed (the turn's review, read-only): a tap shows its diff. */
function TurnsChanged({ sessionId, items }: { sessionId: string; items: Item[] }) {
  const turns = items.flatMap((item) => (item.type === 'review' ? [{ turn: item.turn, files: item.files }] : []));
  const [open, setOpen] = useState<{ turn: number; diff: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (turns.length === 0) return null;
  const show = (turn: number) => api.turnChanges(sessionId, turn).then((c) => setOpen({ turn, diff: c.diff }), (e: unknown) => setError(describeError(e)));
  return (
    <section class="card pad watch-changes" data-testid="watch-changes">
      <h2>Changes</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {turns.map(({ turn, files }) => (
        <button key={turn} class="btn ghost block" aria-expanded={open?.turn === turn}
          onClick={() => (open?.turn === turn ? setOpen(null) : void show(turn))}>
          {`Turn ${turn}: ${files} file${files === 1 ? '' : 's'} changed`}
        </button>
      ))}
      {open && <Diff files={parseUnifiedDiff(open.diff)} />}
    </section>
  );
}
