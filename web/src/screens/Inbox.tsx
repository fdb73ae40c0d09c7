import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Approval, type Decision } from '../api';
import { MachineBadge } from '../components/MachineBadge';
import { MachineContext, useMachineApi, useMachineReachable } from '../machineContext';
import { ApprovalCard, refusalText, riskWords } from '../components/ApprovalCard';
import { KeptDecisionNotes } from '../components/KeptDecisions';
import { AppBar, Empty, ErrorNote, Icon, timeAgo } from '../components/ui';
import { isRisky, mergedInbox, similarGroups, similarKey, swipeable, swipeOutcome, toggleSelected, viewOf, type InboxEntry } from '../inbox';
import { linkTo } from '../router';
import { reachable, reloadPending, useStore } from '../store';
import { rememberDecided } from '../push';
import { agentName } from '../agents';

/**
 * Every call, question and budget decision waiting in any session of any project: first those this person may decide
 * (as the server offers), then those waiting on someone else, said so. A plain call is decided by swiping it (right allows
 * once, left denies, past the threshold shown under it) or with its buttons; a risky one only with its buttons; calls of
 * the same tool may be selected and decided together, each its own decision in the ledger. Live from the event stream.
 */
export function Inbox() {
  const pending = useStore((s) => s.board.pending);
  const machines = useStore((s) => s.machines);
  // Every machine's calls, each with its machine's badge when the app holds more than one.
  const { mine, others } = mergedInbox(pending, machines.map((m) => ({ id: m.machine.id, pending: m.board.pending })));
  const badged = machines.length > 0;
  const [selected, setSelected] = useState<string[]>([]);
  // Fresh offers for every pending call when the inbox opens; from then on the stream's events keep it (store.ts).
  useEffect(() => reloadPending(), []);
  // A batch is decided in one request, so of this machine's calls only; another machine's are decided one by one.
  const mineHere = mine.filter((e) => !e.machine);
  // A call decided elsewhere (or withdrawn) leaves the selection with the list.
  const live = selected.filter((id) => mineHere.some((e) => e.approval.id === id));
  const groups = similarGroups(mineHere);
  const listed = (p: Record<string, unknown>) => Object.values(p).length;
  const unknown = listed(pending) + machines.reduce((n, m) => n + listed(m.board.pending), 0) - mine.length - others.length;
  const away = machines.filter((m) => m.status === 'offline' || m.status === 'revoked');

  return (
    <>
      <AppBar back="/" title="Inbox" subtitle={<span class="muted small">{mine.length === 0 ? 'Nothing needs you' : `${mine.length} need${mine.length === 1 ? 's' : ''} you`}</span>} />
      <main class={`page inbox${live.length > 0 ? ' selecting' : ''}`}>
        {mine.length === 0 && others.length === 0 && unknown === 0 && (
          <Empty><p><strong>Nothing is waiting.</strong></p><p>Calls, questions and budgets from every session land here.</p></Empty>
        )}
        <KeptDecisionNotes everyMachine />
        {away.map((m) => (
          <p key={m.machine.id} class="muted small" role="status" data-testid="machine-away">
            <MachineBadge view={m} /> {m.status === 'revoked' ? 'This phone was signed out there: its calls are not shown. Add it again from Machines.'
              : 'Does not answer: its calls show again when it does. The other machines carry on.'}
          </p>
        ))}
        {mine.length > 0 && (
          <section aria-label="Needs you" data-testid="needs-you">
            <h2 class="section-title">Needs you</h2>
            {mine.map((e, i) => (
              <InboxItem key={`${e.machine ?? ''}:${e.approval.id}`} entry={e} badged={badged} first={i === 0}
                selectable={!e.machine && groups.get(similarKey(e.approval))?.includes(e.approval.id) === true} selected={!e.machine && live.includes(e.approval.id)}
                onSelect={() => setSelected(toggleSelected(live, e.approval.id, mineHere))} />
            ))}
          </section>
        )}
        {others.length > 0 && (
          <section aria-label="Waiting on someone else" data-testid="waiting-on-others">
            <h2 class="section-title">Waiting on someone else</h2>
            {/* Whom each waits for is the card's own line (the server's words). */}
            {others.map((e) => <InboxItem key={`${e.machine ?? ''}:${e.approval.id}`} entry={e} badged={badged} selectable={false} selected={false} onSelect={() => {}} />)}
          </section>
        )}
        {live.length > 0 && <BatchBar ids={live} entries={mineHere} onDone={() => setSelected([])} />}
      </main>
    </>
  );
}

function InboxItem({ entry, badged, first = false, selectable, selected, onSelect }: {
  entry: InboxEntry; badged: boolean; first?: boolean; selectable: boolean; selected: boolean; onSelect: () => void;
}) {
  const a = entry.approval;
  // The session and project as the call's own machine knows them.
  const machine = useStore((s) => (entry.machine ? s.machines.find((m) => m.machine.id === entry.machine) : undefined));
  const home = useStore((s) => s);
  const session = machine ? machine.board.sessions[a.sessionId] : home.board.sessions[a.sessionId];
  const project = (machine ? machine.projects : home.projects).find((p) => p.id === a.projectId);
  const from = (
    <>
      <span class="inbox-session-title">{badged && <MachineBadge view={machine} />} {session?.shortTitle || session?.title || 'Untitled session'}</span>
      <span class="muted small">
        {project?.name ?? 'removed project'}{session ? ` · ${agentName(session.agent)}` : ''}{session?.startedBy ? ` · started by ${session.startedBy}` : ''} · {timeAgo(a.createdAt)}
      </span>
    </>
  );
  return (
    <MachineContext.Provider value={entry.machine ?? null}>
    <article class={`inbox-item${selected ? ' selected' : ''}`} data-approval={a.id} data-kind={a.kind} data-machine={machine?.machine.name ?? 'home'} aria-label={a.title || a.tool}>
      <div class="inbox-from">
        <a class="inbox-session" {...linkTo(machine ? `/m/${machine.machine.id}/s/${a.sessionId}` : `/s/${a.sessionId}#approval-${a.id}`)}>{from}</a>
        {selectable && (
          <label class="inbox-select">
            <input type="checkbox" checked={selected} onChange={onSelect} aria-label={`Select ${a.title || a.tool}`} />
          </label>
        )}
      </div>
      {entry.mine && swipeable(a) ? <Swipeable a={a} /> : <ApprovalCard approval={viewOf(a)} />}
      {first && <StartsAhead id={a.id} />}
    </article>
    </MachineContext.Provider>
  );
}

/**
 * The first card that needs this person is the one they decide next: its machine is told it is in front of them, and a
 * paused agent starts again while they read it (the server decides whether: only for someone who may decide the call),
 * so their allow runs the call without the agent's start-up. One look per card shown first; nothing is said of it.
 */
function StartsAhead({ id }: { id: string }) {
  const api = useMachineApi();
  const up = useMachineReachable();
  useEffect(() => {
    if (up) api.look(id).catch(() => { /* a look is a hint: a refusal or a dropped connection changes nothing shown */ });
  }, [id, up]);
  return null;
}

/**
 * The card on a track: dragged sideways it shows what letting go would do (Allow once to the right, Deny to the left, and
 * "Use the buttons" for a risky call), and decides when let go past the threshold. Vertical scrolling stays the page's.
 */
function Swipeable({ a }: { a: Approval }) {
  const [dx, setDx] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<Decision | null>(null);
  const start = useRef<{ x: number; y: number; id: number } | null>(null);
  const track = useRef<HTMLDivElement>(null);
  const up = useMachineReachable();
  const api = useMachineApi();
  const width = () => track.current?.getBoundingClientRect().width ?? 0;
  const outcome = swipeOutcome(dx, width(), a);

  const down = (e: PointerEvent) => {
    // Only a drag that starts on the card itself: its buttons, fields and code (which scrolls sideways) keep their own.
    if (!up || sent || (e.target as Element).closest('button, a, input, textarea, select, label, pre, summary')) return;
    start.current = { x: e.clientX, y: e.clientY, id: e.pointerId };
  };
  const move = (e: PointerEvent) => {
    const s = start.current;
    if (!s || s.id !== e.pointerId) return;
    const x = e.clientX - s.x;
    if (dx === 0 && Math.abs(e.clientY - s.y) > Math.abs(x)) {
      start.current = null;
      return;
    }
    if (Math.abs(x) > 8) track.current?.setPointerCapture?.(e.pointerId);
    setDx(x);
  };
  const release = async () => {
    if (!start.current) return;
    start.current = null;
    const landed = swipeOutcome(dx, width(), a);
    setDx(0);
    if (landed !== 'allow_once' && landed !== 'deny') return;
    setSent(landed);
    setError(null);
    try {
      await api.decide(a.id, landed);
      rememberDecided();
      // The card leaves the inbox when approval.resolved arrives on the stream.
    } catch (err) {
      setError(refusalText(err));
      setSent(null);
    }
  };

  const risky = isRisky(a);
  const hint = outcome === 'button' ? (risky ? 'Risky: use the buttons' : 'Use the buttons') : dx > 0 ? 'Allow once' : 'Deny';
  return (
    <div class="swipe" data-testid="swipe">
      <div class={`swipe-under ${dx > 0 ? 'allow' : 'deny'}${outcome ? ' armed' : ''}${outcome === 'button' ? ' refused' : ''}`} aria-hidden="true"
        style={{ visibility: dx === 0 ? 'hidden' : 'visible' }}>
        <span>{hint}</span>
      </div>
      <div class="swipe-card" ref={track} style={{ transform: dx ? `translateX(${dx}px)` : undefined, touchAction: 'pan-y' }}
        onPointerDown={down} onPointerMove={move} onPointerUp={() => void release()} onPointerCancel={() => { start.current = null; setDx(0); }}>
        <ApprovalCard approval={viewOf(a)} />
      </div>
      {sent && <p class="muted small" role="status">{sent === 'deny' ? 'Denying…' : 'Allowing once…'}</p>}
      {risky && riskWords(a.riskSigns ?? undefined).length > 0 && <p class="muted small swipe-note">A risky call is decided with its buttons, not a swipe.</p>}
      <ErrorNote error={error} />
    </div>
  );
}

/** The selected calls decided together, pinned to the bottom: each its own decision, each refusal said under its name. */
function BatchBar({ ids, entries, onDone }: { ids: string[]; entries: InboxEntry[]; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState<string[]>([]);
  const up = useStore(reachable);
  const first = entries.find((e) => e.approval.id === ids[0])?.approval;
  const decide = async (decision: 'allow_once' | 'deny') => {
    setBusy(true);
    setRefused([]);
    try {
      const { results } = await api.decideMany(ids.map((id) => ({ id, decision })));
      rememberDecided();
      const failed = results.filter((r) => r.error);
      setRefused(failed.map((r) => `${entries.find((e) => e.approval.id === r.id)?.approval.title ?? r.id}: ${r.error!.detail}`));
      if (failed.length === 0) onDone();
    } catch (e) {
      setRefused([refusalText(e)]);
    } finally {
      setBusy(false);
    }
  };
  const what = first ? `${ids.length} ${first.tool} call${ids.length === 1 ? '' : 's'}` : `${ids.length} calls`;
  return (
    <div class="batch-bar" role="region" aria-label="Decide the selected calls" data-testid="batch-bar">
      {refused.length > 0 && <ul class="error-note plain small" role="alert">{refused.map((r) => <li key={r}>{r}</li>)}</ul>}
      <div class="muted small">{what} selected: each is decided on its own, with its own ledger entry.</div>
      <div class="row">
        <button class="btn danger-ghost" disabled={busy || !up} onClick={() => void decide('deny')}>Deny {ids.length}</button>
        <button class="btn primary grow" disabled={busy || !up} onClick={() => void decide('allow_once')}>
          <Icon name="check" size={18} /> Allow {ids.length} once
        </button>
      </div>
    </div>
  );
}
