import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AttachButton, type Attachment, AttachmentChips, release, wire } from '../components/Attach';
import { appendDictated, Dictate } from '../components/Dictate';
import { api, describeError, NetworkError, type HandoffResult, type QueuedMessage, type Session, type SessionMode, type SessionOffers, type SessionWorktreeRecord } from '../api';
import { Transcript } from '../components/Transcript';
import { ProjectRoot } from '../components/ToolView';
import { AppBar, ErrorNote, Icon, Sheet, StatusBadge } from '../components/ui';
import { ResumableStream, type StreamState } from '../events';
import { pendingApprovals, withListed, type ListedTeamState } from '../dashboard';
import { modeLabel } from '../modes';
import { addLive, addOlder, emptyWindow, MAX_WINDOW, openAt, type TranscriptWindow } from '../transcriptWindow';
import { keepOffers, loadHealth, reachable, reloadPending, upsertSession, useOwner, useStore } from '../store';
import { ShareWatch } from '../components/WatchLinks';
import { attempt, drop, flush, keep, onOutboxChange, waiting, type OutboxMessage } from '../outbox';
import { KeptDecisionNotes } from '../components/KeptDecisions';
import { modeChoices, waitsFor } from '../offers';
import { keepTranscript } from '../offline';
import { agentName } from '../agents';
import { WorktreeBar } from '../components/WorktreeBar';
import { SessionMemoryLine } from '../components/Resources';
import { PreparingNote } from '../components/Preparing';
import { PreviewPanel } from '../components/Preview';
import { ReadAloud, type SpeakFlag } from '../components/ReadAloud';
import { UsageLine } from '../components/UsageLine';
import { useComposerHeight } from '../composerHeight';
import { navigate } from '../router';

/** `speak`: read the latest reply or the waiting call aloud once it shows (a notification's tap, components/ReadAloud.tsx). */
export function SessionScreen({ id, speak = null }: { id: string; speak?: SpeakFlag | null }) {
  const [session, setSession] = useState<Session | null>(null);
  const [worktree, setWorktree] = useState<SessionWorktreeRecord | null>(null);
  // A bounded window of the transcript (transcriptWindow.ts): the newest page, older ones as the owner scrolls up.
  const [win, setWin] = useState<TranscriptWindow>(emptyWindow);
  const view = win.view;
  const paging = useRef(false);
  // The page height before older events went on top: the reader stays on what they were reading.
  const heightBeforeOlder = useRef<number | null>(null);
  const [stream, setStream] = useState<StreamState>('connecting');
  // The first connection after the page is not a reconnection: the banner waits for a stream that was open, or that failed.
  const wasOpen = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const [menu, setMenu] = useState(false);
  // Shown from this phone's copy (offline.ts) while the machine cannot be reached.
  const [fromCopy, setFromCopy] = useState(false);
  const scrolled = useRef(false);
  const stickToBottom = useRef(true);
  // Approval cards already brought into view: each is shown from its top once, never again on later events.
  const revealed = useRef(new Set<string>());
  const screen = useRef<HTMLDivElement>(null);
  useComposerHeight(screen);

  const loadWorktree = (projectId: string) =>
    api.worktrees(projectId).then((all) => setWorktree(all.find((w) => w.sessionId === id) ?? null), () => setWorktree(null));
  useEffect(() => {
    const kept = keepTranscript(id);
    void kept.restored.then((saved) => {
      if (!saved || saved.events.length === 0) return;
      const first = saved.events[0]!.data.seq;
      setWin((w) => (w.lastSeq === 0 ? openAt({ events: saved.events, before: first > 1 ? first : null, lastSeq: saved.events[saved.events.length - 1]!.data.seq }) : w));
      setSession((s) => s ?? saved.session ?? null);
      setFromCopy(true);
    });
    api.session(id).then((s) => { setSession(s); upsertSession(s); kept.session(s); void loadWorktree(s.projectId); }, (e) => {
      // Offline with a copy kept: the copy is the answer, and the banner says why it may be old.
      if (e instanceof NetworkError) void kept.restored.then((saved) => { if (!saved) setError(describeError(e)); });
      else setError(describeError(e));
    });
    let events: ResumableStream | undefined;
    let closed = false;
    // The newest page first, then the live stream from its last event: a session of any length opens with one page.
    // Offline, the stream starts where the kept copy ends (or at the start) and catches up once the machine answers.
    const follow = (after: number) => {
      if (closed) return;
      events = new ResumableStream({
        url: `/api/sessions/${encodeURIComponent(id)}/events`,
        after,
        onState: (state) => { if (state === 'open') wasOpen.current = true; setStream(state); },
        onEvents: (batch) => {
          setWin((w) => addLive(w, batch));
          kept.add(batch);
        },
      });
    };
    api.sessionEventPage(id).then((page) => {
      if (closed) return;
      setWin(openAt(page));
      kept.add(page.events);
      follow(page.lastSeq);
    }, () => void kept.restored.then((saved) => follow(saved?.events[saved.events.length - 1]?.data.seq ?? 0)));
    const onScroll = () => {
      stickToBottom.current = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
      if (window.scrollY < 300) loadOlder.current();
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      closed = true;
      events?.close();
      void kept.close();
      window.removeEventListener('scroll', onScroll);
    };
  }, [id]);

  // Scrolled to the top: the page before the window. Far pages at the other end go (transcriptWindow.ts).
  const loadOlder = useRef(() => {});
  loadOlder.current = () => {
    if (paging.current || win.before === null) return;
    paging.current = true;
    api.sessionEventPage(id, win.before).then((page) => {
      heightBeforeOlder.current = document.documentElement.scrollHeight;
      setWin((w) => addOlder(w, page));
    }, () => {}).finally(() => { paging.current = false; });
  };
  // Back from reading far up: the newest page again (the live stream kept counting meanwhile).
  const toLatest = () => {
    api.sessionEventPage(id).then((page) => { stickToBottom.current = true; setWin(openAt(page)); }, (e) => setError(describeError(e)));
  };
  useLayoutEffect(() => {
    if (heightBeforeOlder.current === null) return;
    window.scrollBy(0, document.documentElement.scrollHeight - heightBeforeOlder.current);
    heightBeforeOlder.current = null;
  }, [win]);

  // Follow the stream while the reader is at the bottom; a deep link to an approval scrolls to that card once.
  useLayoutEffect(() => {
    if (view.items.length === 0) return;
    const anchor = location.hash.startsWith('#approval-') ? document.getElementById(location.hash.slice(1)) : null;
    if (!scrolled.current && anchor) {
      // A card taller than the screen is read from its top (its first question), not from its middle.
      anchor.scrollIntoView({ block: anchor.offsetHeight > window.innerHeight / 2 ? 'start' : 'center' });
      if (anchor.dataset.approval) revealed.current.add(anchor.dataset.approval);
      scrolled.current = true;
      return;
    }
    if (stickToBottom.current || !scrolled.current) {
      window.scrollTo(0, document.documentElement.scrollHeight);
      scrolled.current = true;
      // Following the stream would show a tall card (several questions) from its buttons up: show it from its top.
      const cards = document.querySelectorAll<HTMLElement>('.approval.pending[data-approval]');
      const card = cards[cards.length - 1];
      const id = card?.dataset.approval;
      if (card && id && !revealed.current.has(id)) {
        revealed.current.add(id);
        const barBottom = document.querySelector('.appbar')?.getBoundingClientRect().bottom ?? 0;
        if (card.getBoundingClientRect().top < barBottom) card.scrollIntoView({ block: 'start' });
      }
    }
  }, [view]);

  const online = useStore((s) => s.online);
  const projectRoot = useStore((s) => s.projects.find((p) => p.id === session?.projectId)?.path ?? '');
  // A session on a branch of its own works in its worktree: paths in its transcript are relative to that.
  const root = worktree && !worktree.removedAt ? worktree.path : projectRoot;
  const status = view.status ?? session?.status;
  const mode = view.mode ?? session?.mode ?? 'ask';
  const waiting = pendingApprovals(view).length;
  // Who may decide each waiting call, who has allowed it and what this person may do with it, as the dashboard's approvals
  // list says (asked again at each new call and vote: events carry no offers).
  const pending = useStore((s) => s.board.pending);
  const listed = useMemo(() => Object.values(pending).flatMap((p): ListedTeamState[] => (p.listed && p.sessionId === id ? [p.listed] : [])), [pending, id]);
  const shown = useMemo(() => withListed(view, listed), [view, listed]);
  const cards = pendingApprovals(shown);
  // A call this stream shows that the list has not said yet (asked before it came): asked again, once for each such set.
  const unknown = cards.filter((a) => !a.offers).map((a) => a.approvalId).join(' ');
  useEffect(() => {
    if (unknown) reloadPending();
  }, [unknown]);
  // A call still waiting that was asked before the newest page (a long turn since): pages back until its card is in the
  // window, within the window's bound.
  const outside = listed.some((l) => !cards.some((a) => a.approvalId === l.id));
  useEffect(() => {
    if (outside && win.events.length + 1 < MAX_WINDOW) loadOlder.current();
  }, [outside, win]);
  const mine = cards.some((a) => waitsFor(a.offers));
  // What this person may do with the session changes with its mode and its "allow for this session" grants: asked again
  // when the stream shows either changed since the session was read (once for each such change and reading).
  const offersKey = session ? `${view.mode ?? ''}:${view.grantedAt}@${session.lastSeq}` : '';
  const offersAskedFor = useRef('');
  useEffect(() => {
    if (!session || !view.mode || (view.mode === session.mode && view.grantedAt <= session.lastSeq) || offersAskedFor.current === offersKey) return;
    offersAskedFor.current = offersKey;
    api.session(id).then((s) => { setSession(s); upsertSession(s); }, () => {});
  }, [offersKey]);
  const offers = session?.offers ?? undefined;
  // Its worktree appears once made: the bar above the transcript and the paths in it follow.
  useEffect(() => {
    if (view.worktreeMadeAt > 0 && session) void loadWorktree(session.projectId);
  }, [view.worktreeMadeAt, session?.projectId]);
  const preparing = status === 'preparing' || (status === 'starting' && view.preparing !== null);

  return (
    <div class="session-screen" ref={screen}>
      <AppBar
        back="/"
        title={<span class="title-lines">{session?.shortTitle || session?.title || 'Session'}</span>}
        subtitle={<><StatusBadge status={status} sessionId={id} />{session && <span class="muted small session-agent" data-testid="session-agent">{agentName(session.agent)}</span>}{session && (session.model || session.profile || session.sandbox === 'none') && <span class="muted small session-extra">{session.model ? `· ${session.model}` : ''}{session.profile ? ` · ${session.profile}` : ''}{session.sandbox === 'none' ? ' · unsandboxed' : ''}</span>}</>}
        actions={offers?.stop && <button class="icon-btn" aria-label="Session actions" aria-haspopup="dialog" aria-expanded={menu} onClick={() => setMenu(!menu)}><Icon name="other" /></button>}
      />
      {session && worktree && (
        <WorktreeBar session={session} working={view.turnActive} turnEndedAt={view.turnEndedAt} onStopped={() => {
          void api.session(id).then((s) => { setSession(s); upsertSession(s); });
          void loadWorktree(session.projectId);
        }} />
      )}
      {/* A sheet at the bottom rather than a strip under the bar: the transcript is nearly always scrolled away from the top. */}
      {menu && session && (
        <Sheet label="Session actions" onClose={() => setMenu(false)}>
          <SessionActions session={{ ...session, status: status ?? session.status }} onClose={() => setMenu(false)}
            onDone={(s) => { setSession((known) => keepOffers(known, s)); upsertSession(s); setMenu(false); }} />
        </Sheet>
      )}
      <main class="page transcript-page" data-last-seq={win.lastSeq}>
        <ErrorNote error={error} />
        {win.before !== null && (
          <button class="link earlier" data-testid="earlier" onClick={() => loadOlder.current()}>Earlier messages</button>
        )}
        {(stream === 'waiting' || (stream === 'connecting' && wasOpen.current)) && view.lastSeq > 0 && (fromCopy && !online
          ? <div class="reconnecting" role="status" data-testid="offline-copy">Offline: the transcript as this phone last loaded it.</div>
          : <div class="reconnecting" role="status">Reconnecting…</div>)}
        {view.items.length === 0 && stream === 'open' && <p class="muted center">Nothing here yet.</p>}
        <ProjectRoot.Provider value={root}>
          <Transcript items={shown.items} onStopTask={offers?.steer ? (taskId) => api.stopAgentTask(id, taskId).then(() => undefined) : undefined}
            onUndoRewind={offers?.steer && status !== 'stopped' ? () => api.undoRewind(id).then((next) => navigate(`/s/${next.id}`)) : undefined} />
        </ProjectRoot.Provider>
        {preparing && <PreparingNote preparing={view.preparing} />}
        {status === 'queued' && view.inLine && <div class="working queued" role="status" data-testid="in-line">{view.inLine[0]!.toUpperCase() + view.inLine.slice(1)}.</div>}
        {view.paused && waiting > 0 && (mine
          ? <div class="working paused" role="status">Waiting for you — agent paused to save memory. Your decision resumes it.</div>
          : <div class="working paused" role="status">Waiting for a decision — agent paused to save memory. The decision resumes it.</div>)}
        {view.turnActive && waiting === 0 && (view.stalled
          ? <div class="working stalled" role="status" aria-label="Agent stalled">No progress for a while: wait, or cancel the turn.</div>
          : <div class="working" aria-label="Agent working"><span class="spinner small" /> Working…</div>)}
        <ReadAloud items={shown.items} waiting={cards} flag={speak} />
        <UsageLine usage={view.usage} modelConnections={view.modelConnections} />
        {(status === 'idle' || status === 'running' || status === 'waiting_approval') && <SessionMemoryLine sessionId={id} />}
        {(status === 'idle' || status === 'running' || status === 'waiting_approval') && <PreviewPanel sessionId={id} />}
        {win.newerDropped !== null && (
          <button class="latest" data-testid="to-latest" onClick={toLatest}>Back to the latest</button>
        )}
        <QueuedMessages id={id} queue={view.queue} held={view.queueHeld && !view.turnActive} offers={offers} />
        <Outbox id={id} />
        <KeptDecisionNotes sessionId={id} />
      </main>
      <Composer id={id} status={status} mode={mode} turnActive={view.turnActive || preparing} worktreeFailed={view.worktreeFailed} offers={offers} />
    </div>
  );
}

/** Stop the session, archive it (stopped, hidden from Home, kept whole), or bring it back: each confirmed first. */
function SessionActions({ session, onDone, onClose }: { session: Session; onDone: (s: Session) => void; onClose: () => void }) {
  const [confirm, setConfirm] = useState<'stop' | 'archive' | 'handoff' | 'watch' | null>(null);
  const owner = useOwner() === true;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Set once handed back: the command to carry on in a terminal stays on screen to be copied.
  const [handedOff, setHandedOff] = useState<HandoffResult | null>(null);
  // Whether the server can hand this agent's conversation back to a terminal (it says so per agent in /api/health).
  const handsBack = useStore((s) => s.health?.agents.find((a) => a.id === session.agent)?.handsBack ?? false);
  useEffect(() => {
    void loadHealth();
  }, []);
  const handOff = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await api.handoff(session.id);
      setHandedOff(result);
      upsertSession(result.session as Session);
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
    setConfirm(null);
  };
  const act = async (work: () => Promise<Session>) => {
    setBusy(true);
    setError(null);
    try {
      onDone(await work());
    } catch (e) {
      setError(describeError(e));
    }
    setBusy(false);
    setConfirm(null);
  };
  const stopped = session.status === 'stopped';
  return (
    <div class="session-actions">
      <ErrorNote error={error} />
      {handedOff && (
        <div class="confirm handoff" data-testid="handoff">
          <p>Carry on in a terminal on the machine:</p>
          <pre class="code mono">{handedOff.shell}</pre>
          <button class="btn ghost" onClick={() => void navigator.clipboard?.writeText(handedOff.shell)}>Copy command</button>
        </div>
      )}
      {confirm === null && !handedOff && (
        <div class="sheet-actions">
          {!stopped && handsBack && (
            <button class="btn ghost block" disabled={busy} onClick={() => setConfirm('handoff')}>Continue in terminal…</button>
          )}
          {owner && <button class="btn ghost block" disabled={busy} onClick={() => setConfirm('watch')}>Share a link to watch…</button>}
          {!stopped && <button class="btn danger-ghost block" disabled={busy} onClick={() => setConfirm('stop')}>Stop session…</button>}
          {session.archivedAt
            ? <button class="btn ghost block" disabled={busy} onClick={() => void act(() => api.archive(session.id, false))}>Unarchive</button>
            : <button class="btn ghost block" disabled={busy} onClick={() => setConfirm('archive')}>Archive…</button>}
        </div>
      )}
      {confirm === null && <button class="btn block sheet-close" onClick={onClose}>Close</button>}
      {confirm === 'watch' && (
        <>
          <ShareWatch sessionId={session.id} />
          <button class="btn block sheet-close" onClick={() => setConfirm(null)}>Done</button>
        </>
      )}
      {confirm === 'stop' && (
        <div class="confirm">
          <p>Stop the agent? Its conversation is kept, but this session takes no more messages.</p>
          <div class="row">
            <button class="btn ghost" disabled={busy} onClick={() => setConfirm(null)}>Cancel</button>
            <button class="btn danger grow" disabled={busy} onClick={() => void act(() => api.stop(session.id))}>Stop session</button>
          </div>
        </div>
      )}
      {confirm === 'handoff' && (
        <div class="confirm">
          <p>Stop the agent here and carry the conversation on in a terminal? You get the command that resumes it; to come back, continue it from the project's Conversations.</p>
          <div class="row">
            <button class="btn ghost" disabled={busy} onClick={() => setConfirm(null)}>Cancel</button>
            <button class="btn primary grow" disabled={busy} onClick={() => void handOff()}>Hand back</button>
          </div>
        </div>
      )}
      {confirm === 'archive' && (
        <div class="confirm">
          <p>{stopped ? 'Hide this session from Home?' : 'Stop the agent and hide this session from Home?'} Its history and ledger entries are kept.</p>
          <div class="row">
            <button class="btn ghost" disabled={busy} onClick={() => setConfirm(null)}>Cancel</button>
            <button class="btn primary grow" disabled={busy} onClick={() => void act(() => api.archive(session.id, true))}>Archive</button>
          </div>
        </div>
      )}
    </div>
  );
}

/**
 * What was sent while the agent worked: each waits for the turn before it to end, then starts a turn of its own. Until
 * then it can be edited or taken back. After a stopped turn the queue waits for the owner ("Send queued now").
 */
function QueuedMessages({ id, queue, held, offers }: { id: string; queue: QueuedMessage[]; held: boolean; offers?: SessionOffers }) {
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (queue.length === 0) return null;
  // Editing, confirming and sending them on is steering; taking one back is not (it runs nothing).
  const steers = offers?.steer === true;
  const removes = offers?.stop === true;
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      setEditing(null);
    } catch (e) {
      // Most often: it started (or was removed on another device) a moment ago.
      setError(describeError(e));
    }
    setBusy(false);
  };
  return (
    <section class="queue" aria-label="Queued messages" data-testid="queue">
      <ErrorNote error={error} />
      <p class="muted small">{held
        ? `${steers ? 'Waiting for you: these start when you say so' : 'Waiting: these start when someone who may steer this session says so'} (a turn was stopped, or the server restarted).`
        : `Queued: ${queue.length === 1 ? 'starts' : 'each starts'} when the agent finishes.`}</p>
      {queue.map((m, n) => (
        <div key={m.id} class="bubble queued" data-testid="queued-message">
          {editing?.id === m.id
            ? (
              <form class="queued-edit" onSubmit={(e) => { e.preventDefault(); if (editing.text.trim()) void run(() => api.editQueued(id, m.id, editing.text.trim())); }}>
                <textarea rows={2} value={editing.text} aria-label="Queued message"
                  onInput={(e) => setEditing({ id: m.id, text: (e.target as HTMLTextAreaElement).value })} />
                <div class="row">
                  <button type="button" class="btn ghost small" disabled={busy} onClick={() => setEditing(null)}>Cancel</button>
                  <button type="submit" class="btn primary small" disabled={busy || !editing.text.trim()}>Save</button>
                </div>
              </form>
            )
            : (
              <>
                <p class="queued-text"><span class="muted small">{n + 1}.</span> {m.text}</p>
                {m.attachments && m.attachments.length > 0 && <p class="muted small">{m.attachments.map((a) => a.name).join(', ')}</p>}
                {m.heldReason && <p class="warn-note" role="status">{m.heldReason}</p>}
                {(steers || removes) && (
                  <div class="row">
                    {steers && m.heldReason && (
                      <button class="btn primary small" disabled={busy} aria-label={`Confirm queued message ${n + 1}`}
                        onClick={() => void run(() => api.confirmQueued(id, m.id))}>Confirm</button>
                    )}
                    {steers && <button class="btn ghost small" disabled={busy} onClick={() => setEditing({ id: m.id, text: m.text })}>Edit</button>}
                    {removes && (
                      <button class="btn danger-ghost small" disabled={busy} aria-label={`Remove queued message ${n + 1}`}
                        onClick={() => void run(() => api.removeQueued(id, m.id))}>Remove</button>
                    )}
                  </div>
                )}
              </>
            )}
        </div>
      ))}
      {held && steers && <button class="btn primary block" disabled={busy} onClick={() => void run(() => api.runQueue(id))}>Send queued now</button>}
    </section>
  );
}

/** Messages kept on this phone until the machine can be reached: the owner's words, not yet sent (never lost, never sent twice). */
function Outbox({ id }: { id: string }) {
  const [kept, setKept] = useState(() => waiting(id));
  useEffect(() => {
    setKept(waiting(id));
    return onOutboxChange(() => setKept(waiting(id)));
  }, [id]);
  if (kept.length === 0) return null;
  return (
    <section class="queue" aria-label="Waiting for the connection" data-testid="outbox">
      {kept.map((m) => (
        <div key={m.clientId} class="queued card outbox-item">
          <p class="queued-text">{m.text}</p>
          <div class="row">
            <span class="muted small grow">Waiting for the connection</span>
            <button type="button" class="btn ghost small" aria-label="Remove the message waiting for the connection" onClick={() => drop(m.clientId)}>Remove</button>
          </div>
        </div>
      ))}
    </section>
  );
}

/**
 * What this person may do with the session, as the server offers it: the message field where they may steer it (else the
 * server's reason, which names who can), the modes they may switch it to, Stop turn; Resume or Restart where they may steer.
 */
function Composer({ id, status, mode, turnActive, worktreeFailed, offers }: {
  id: string; status?: string; mode: SessionMode; turnActive: boolean; worktreeFailed: boolean; offers?: SessionOffers;
}) {
  const [text, setText] = useState('');
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [reading, setReading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  // What the owner sends is theirs until the machine has it: a message typed offline (or sent as the connection dropped)
  // waits in this phone's outbox and goes, once, when the machine can be reached again (outbox.ts).
  const up = useStore(reachable);
  const deliver = (m: OutboxMessage) => api.send(m.sessionId, m.text, [], m.clientId);
  const offerBack = (message: string, problem: string) => {
    setText((typed) => typed || message);
    setError(`Not sent: ${problem}`);
  };
  useEffect(() => {
    if (!up) return;
    void flush(id, deliver).then((results) => {
      for (const r of results) if (r.outcome === 'refused') offerBack(r.message.text, r.problem);
    });
  }, [up, id]);

  const send = async (e?: Event) => {
    e?.preventDefault();
    const message = text.trim();
    if (!message) return;
    if (attachments.length) {
      // Attachments are not kept offline (a phone's storage is small): these go now, or stay in the box.
      if (await run(() => api.send(id, message, wire(attachments)))) {
        setText('');
        release(attachments);
        setAttachments([]);
        shrink();
      }
      return;
    }
    const kept = keep(id, message);
    setText('');
    setError(null);
    shrink();
    if (!up) return;
    setBusy(true);
    const result = await attempt(kept, deliver);
    setBusy(false);
    if (result.outcome === 'refused') offerBack(message, result.problem);
  };

  // The box back to one line once its text is sent: a long message's height would keep covering the transcript.
  const shrink = () => {
    if (!area.current) return;
    area.current.style.height = '';
    area.current.blur();
  };

  const grow = (el: HTMLTextAreaElement) => {
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
  };

  if (status === 'failed' && worktreeFailed) {
    // No restart can help: the agent never had a folder to work in.
    return (
      <footer class="composer">
        <p class="muted small" data-testid="worktree-failed">The session's worktree could not be made (why is above), so its agent never started. Start a new session.</p>
      </footer>
    );
  }
  if (!offers) {
    return <footer class="composer"><p class="muted center small" data-testid="checking-offers">Checking what you may do here…</p></footer>;
  }
  const refusal = <p class="muted small steer-refusal" data-testid="steer-refusal">{offers.steerRefusal ?? 'You may not steer this session.'}</p>;
  if (status === 'interrupted' || status === 'failed') {
    // Either way the agent has no process: one tap starts it again on its own conversation (POST …/resume), which is steering it.
    const failed = status === 'failed';
    return (
      <footer class="composer">
        <ErrorNote error={error} />
        <p class="muted small">{failed ? 'The agent is not running (its error is above).' : 'The server stopped while this agent was busy.'}
          {offers.steer && failed ? ' Restart it to carry on this conversation.' : ''}</p>
        {offers.steer
          ? <button class="btn primary block" disabled={busy} onClick={() => void run(() => api.resume(id))}>{failed ? 'Restart session' : 'Resume session'}</button>
          : refusal}
      </footer>
    );
  }
  if (status === 'stopped') {
    return <footer class="composer"><p class="muted center">This session is stopped.</p></footer>;
  }
  const modes = modeChoices(mode, offers.modes);
  const switches = offers.modes.some((m) => m !== mode);
  const stops = turnActive && offers.stop;

  return (
    <footer class="composer">
      <ErrorNote error={error} />
      {(switches || stops) && (
        <div class="composer-tools">
          {switches && (
            <label class="mode-pick">
              <Icon name="shield" size={16} />
              <span>Mode: <strong>{modeLabel(mode)}</strong></span>
              <span class="caret" aria-hidden="true">▾</span>
              {/* The native picker, invisible over the label: a phone shows its own thumb-friendly sheet. The current mode
                  is shown, not offered, when this person may not choose it. */}
              <select value={mode} aria-label="Mode" onChange={(e) => void run(() => api.setMode(id, (e.target as HTMLSelectElement).value as SessionMode))}>
                {modes.map((m) => <option key={m.id} value={m.id} disabled={!m.offered}>{modeLabel(m.id)} — {m.hint}</option>)}
              </select>
            </label>
          )}
          {stops && (
            <button class="btn danger-ghost small" disabled={busy} onClick={() => void run(() => api.cancel(id))}>
              <Icon name="stop" size={16} /> {status === 'preparing' ? 'Stop session' : 'Stop turn'}
            </button>
          )}
        </div>
      )}
      {offers.steer ? (
        <>
          <AttachmentChips attachments={attachments} onRemove={(i) => setAttachments((all) => all.filter((_, n) => n !== i))} />
          <form class="composer-row" onSubmit={send}>
            <AttachButton attached={attachments} onAdd={(added) => setAttachments((all) => [...all, ...added])} onReading={setReading} onProblem={setError} />
            <textarea ref={area} rows={1} value={text} placeholder={turnActive ? 'Queue next…' : 'Tell the agent…'} aria-label="Message"
              onInput={(e) => { const el = e.target as HTMLTextAreaElement; setText(el.value); grow(el); }}
              onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e); }} />
            <Dictate onText={(words) => setText((t) => appendDictated(t, words))} onProblem={setError} />
            <button class="send" type="submit" aria-label="Send" disabled={busy || reading || !text.trim()}><Icon name="send" /></button>
          </form>
        </>
      ) : refusal}
    </footer>
  );
}
