import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Session } from '../api';
import { AppBar, Empty, ErrorNote, StatusBadge, timeAgo } from '../components/ui';
import { linkTo } from '../router';
import { useStore } from '../store';
import { agentName } from '../agents';
import { needsYouFirst } from '../inbox';
import { MachineBadge } from '../components/MachineBadge';

/** Splits the server's snippet at its marks (U+0002 … U+0003): text stays text, so nothing in a prompt becomes markup. */
export function marked(snippet: string) {
  return snippet.split('\u0002').map((part, i) => {
    if (i === 0) return part;
    const [hit, rest = ''] = part.split('\u0003');
    return <span key={i}><mark>{hit}</mark>{rest.replaceAll('\u0003', '')}</span>;
  });
}

/** The server's first page of the session list when none is asked for (what the dashboard loads). */
export const FIRST_PAGE = 1000;
const OLDER_PAGE = 200;

/** Where the next page back starts: the session created last of all those listed, by (createdAt, id) as the server pages. */
export function oldestListed(sessions: Session[]): string | undefined {
  let oldest: Session | undefined;
  for (const s of sessions) {
    if (!oldest || s.createdAt < oldest.createdAt || (s.createdAt === oldest.createdAt && s.id < oldest.id)) oldest = s;
  }
  return oldest?.id;
}

/** Every session of every project, most recently active first, and a search over everything the owner asked. */
export function AllSessions({ query: initial }: { query: string }) {
  const projects = useStore((s) => s.projects);
  const board = useStore((s) => s.board.sessions);
  const [query, setQuery] = useState(initial);
  const [found, setFound] = useState<Session[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showArchived, setShowArchived] = useState(false);
  // Sessions older than the dashboard's first page, paged in on request; whether the server may hold more.
  const [older, setOlder] = useState<Session[]>([]);
  const [more, setMore] = useState(() => Object.keys(board).length >= FIRST_PAGE);
  const [loadingOlder, setLoadingOlder] = useState(false);

  const showOlder = () => {
    const before = oldestListed([...Object.values(board), ...older]);
    if (!before) return;
    setLoadingOlder(true);
    api.sessions(undefined, { before, limit: OLDER_PAGE }).then((page) => {
      setOlder((had) => [...had, ...page.filter((s) => !board[s.id])]);
      setMore(page.length === OLDER_PAGE);
      setError(null);
    }, (e) => setError(describeError(e))).finally(() => setLoadingOlder(false));
  };

  useEffect(() => {
    const q = query.trim();
    // The address keeps the search, so Back from a result comes back to it.
    history.replaceState(history.state, '', q ? `/sessions?q=${encodeURIComponent(q)}` : '/sessions');
    if (!q) {
      setFound(null);
      return;
    }
    let live = true;
    // Typing fast sends one request, not one per letter.
    const timer = setTimeout(() => {
      api.searchSessions(q).then((s) => { if (live) { setFound(s); setError(null); } }, (e) => { if (live) setError(describeError(e)); });
    }, 200);
    return () => { live = false; clearTimeout(timer); };
  }, [query]);

  const pending = useStore((s) => s.board.pending);
  // What waits for this person leads, then the most recently active.
  const listed = [...Object.values(board), ...older.filter((s) => !board[s.id])];
  const everything = needsYouFirst(listed.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)), pending);
  const archived = everything.filter((s) => s.archivedAt).length;
  const list = found ?? (showArchived ? everything : everything.filter((s) => !s.archivedAt));
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? 'removed project';
  // Every other machine's sessions after this one's, each machine's "needs you" first, with its badge (a search is this machine's).
  const machines = useStore((s) => s.machines);

  return (
    <>
      <AppBar back="/" title="All sessions" />
      <main class="page">
        <div class="search-box">
          <input type="search" value={query} placeholder="Search what you asked…" aria-label="Search sessions" enterkeyhint="search"
            autocapitalize="off" onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        </div>
        <ErrorNote error={error} />
        {list.length === 0 && <Empty><p>{found ? `Nothing you asked matches “${query.trim()}”.` : 'No sessions yet.'}</p></Empty>}
        <ul class="session-list all-sessions">
          {list.map((s) => (
            <li key={s.id}>
              <a class="session-row" data-session={s.id} {...linkTo(`/s/${s.id}`)}>
                <span class="session-title" title={s.title ?? undefined}>{s.shortTitle || s.title || 'Untitled session'}</span>
                <span class="session-preview">{s.match ? marked(s.match) : s.preview}</span>
                <span class="session-meta">
                  <StatusBadge status={s.status} sessionId={s.id} />{s.archivedAt && <span class="badge badge-idle">Archived</span>}
                  <span class="muted small">{projectName(s.projectId)} · {agentName(s.agent)}{s.startedBy ? ` · started by ${s.startedBy}` : ''} · {timeAgo(s.updatedAt)}</span>
                </span>
              </a>
            </li>
          ))}
        </ul>
        {!found && more && (
          <button class="link-btn" disabled={loadingOlder} onClick={showOlder}>{loadingOlder ? 'Loading older sessions…' : 'Show older sessions'}</button>
        )}
        {!found && machines.map((m) => (
          <ul key={m.machine.id} class="session-list all-sessions" aria-label={`Sessions on ${m.machine.name}`}>
            {needsYouFirst(Object.values(m.board.sessions).filter((s) => !s.archivedAt).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)), m.board.pending).map((s) => (
              <li key={s.id}>
                <a class="session-row" data-session={s.id} {...linkTo(`/m/${m.machine.id}/s/${s.id}`)}>
                  <span class="session-title">{s.shortTitle || s.title || 'Untitled session'}</span>
                  <span class="session-meta">
                    <MachineBadge view={m} /> <StatusBadge status={s.status} />
                    <span class="muted small">{m.projects.find((p) => p.id === s.projectId)?.name ?? ''} · {agentName(s.agent)} · {timeAgo(s.updatedAt)}</span>
                  </span>
                </a>
              </li>
            ))}
          </ul>
        ))}
        {!found && archived > 0 && (
          <button class="link-btn" onClick={() => setShowArchived(!showArchived)}>{showArchived ? 'Hide archived' : `Show ${archived} archived`}</button>
        )}
      </main>
    </>
  );
}
