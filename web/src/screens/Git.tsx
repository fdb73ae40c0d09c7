import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, scoped, ApiError, describeError, type GitBranches, type GitCommitDetail, type GitDiff, type GitLog, type GitStatus } from '../api';
import { AppBar, Empty, ErrorNote, Icon, timeAgo } from '../components/ui';
import { identityMissing, IdentityForm } from '../components/GitIdentity';
import { Diff, type LineRef } from '../components/Diff';
import { parseUnifiedDiff } from '../diff';
import { linkTo } from '../router';
import { useProject, useStore } from '../store';

function gitProblem(e: unknown): string {
  if (e instanceof ApiError && e.code === 'GIT_NOT_INITIALIZED') return 'This project is not a git repository.';
  return describeError(e);
}

const STATUS_WORD: Record<string, string> = { M: 'modified', A: 'added', D: 'deleted', R: 'renamed', C: 'copied', T: 'type changed', U: 'conflict' };
const word = (status: string) => STATUS_WORD[status[0] ?? ''] ?? status;

/** The project's working tree, or with `session` that session's worktree (its branch of its own). */
export function Git({ projectId, session }: { projectId: string; session?: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [status, setStatus] = useState<GitStatus | null>(null);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Set when a commit was refused for want of an author: the form under it asks for one, then commits again.
  const [retry, setRetry] = useState<(() => void) | null>(null);
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  // Everyone reads the status and the diffs; staging, committing, discarding and pushing change the project's files, as the
  // server offers (`writeFiles`).
  const steers = useProject(projectId)?.offers?.writeFiles === true;

  const load = () => api.gitStatus(projectId, session).then(setStatus, (e) => setError(gitProblem(e)));
  useEffect(() => void load(), [projectId]);

  const act = async (action: () => Promise<unknown>, done?: (result: unknown) => string | null) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const result = await action();
      setNote(done?.(result) ?? null);
      await load();
    } catch (e) {
      if (identityMissing(e)) setRetry(() => () => void act(action, done));
      else setError(gitProblem(e));
    } finally {
      setBusy(false);
    }
  };

  const diffLink = (path: string, staged: boolean) => linkTo(scoped(`/p/${projectId}/git/diff?path=${encodeURIComponent(path)}&staged=${staged}`, session));
  const clean = status && !status.staged.length && !status.unstaged.length && !status.untracked.length && !status.conflicted.length;

  return (
    <>
      <AppBar back={session ? `/s/${session}` : '/'} title="Git" subtitle={<span class="muted small">{project?.name}{status?.branch ? ` · ${status.branch}` : ''}</span>}
        actions={<>
          <a class="icon-btn" aria-label="History" {...linkTo(scoped(`/p/${projectId}/git/log`, session))}><Icon name="history" /></a>
          {/* A session's worktree stays on its own branch: switching it is the project's business. */}
          {!session && <a class="icon-btn" aria-label="Branches" {...linkTo(`/p/${projectId}/git/branches`)}><Icon name="branch" /></a>}
        </>} />
      <main class="page git">
        <ErrorNote error={error} />
        {note && <p class="ok-note" role="status">{note}</p>}
        {status && (
          <div class="git-head card-lite">
            <span><Icon name="branch" size={18} /> <strong>{status.branch ?? '(detached)'}</strong></span>
            <span class="muted small">{status.upstream ? `${status.upstream} · ↑${status.ahead} ↓${status.behind}` : 'no upstream'}</span>
          </div>
        )}
        {clean && <Empty><p>Nothing to commit: the working tree is clean.</p></Empty>}
        {status && status.conflicted.length > 0 && (
          <Section title="Conflicts">
            {status.conflicted.map((path) => <Row key={path} path={path} label="conflict" link={diffLink(path, false)} />)}
          </Section>
        )}
        {status && status.staged.length > 0 && (
          <Section title={`Staged (${status.staged.length})`}
            action={steers && <button class="link-btn" disabled={busy} onClick={() => void act(() => api.gitUnstage(projectId, status.staged.map((c) => c.path), session))}>Unstage all</button>}>
            {status.staged.map((c) => (
              <Row key={c.path} path={c.path} label={word(c.status)} link={diffLink(c.path, true)}
                button={steers && <button class="btn ghost small" disabled={busy} onClick={() => void act(() => api.gitUnstage(projectId, [c.path], session))}>Unstage</button>} />
            ))}
          </Section>
        )}
        {status && (status.unstaged.length > 0 || status.untracked.length > 0) && (
          <Section title={`Changes (${status.unstaged.length + status.untracked.length})`}
            action={steers && <span class="row">
              <button class="link-btn danger-text" disabled={busy} onClick={() => setConfirmDiscard(true)}>Discard…</button>
              <button class="link-btn" disabled={busy}
                onClick={() => void act(() => api.gitStage(projectId, [...status.unstaged.map((c) => c.path), ...status.untracked], session))}>Stage all</button>
            </span>}>
            {confirmDiscard && (
              <li class="confirm" data-testid="confirm-discard">
                <p>Throw away {status.unstaged.length ? `the unstaged changes to ${status.unstaged.length} file${status.unstaged.length === 1 ? '' : 's'}` : ''}
                  {status.unstaged.length && status.untracked.length ? ' and ' : ''}
                  {status.untracked.length ? `delete ${status.untracked.length} new file${status.untracked.length === 1 ? '' : 's'}` : ''}? Staged changes are kept. This cannot be undone.</p>
                <div class="row">
                  <button class="btn ghost" disabled={busy} onClick={() => setConfirmDiscard(false)}>Cancel</button>
                  <button class="btn danger grow" disabled={busy} onClick={() => {
                    setConfirmDiscard(false);
                    // An untracked folder (a nested repository, listed with a '/') is the owner's to remove by hand.
                    void act(() => api.gitDiscard(projectId, [...status.unstaged.map((c) => c.path), ...status.untracked.filter((p) => !p.endsWith('/'))], false, session),
                      () => 'Changes discarded.');
                  }}>Discard changes</button>
                </div>
              </li>
            )}
            {status.unstaged.map((c) => (
              <Row key={c.path} path={c.path} label={word(c.status)} link={diffLink(c.path, false)}
                button={steers && <button class="btn ghost small" disabled={busy} onClick={() => void act(() => api.gitStage(projectId, [c.path], session))}>Stage</button>} />
            ))}
            {status.untracked.map((path) => (
              <Row key={path} path={path} label="new" link={linkTo(scoped(`/p/${projectId}/file?path=${encodeURIComponent(path)}`, session))}
                button={steers && <button class="btn ghost small" disabled={busy} onClick={() => void act(() => api.gitStage(projectId, [path], session))}>Stage</button>} />
            ))}
          </Section>
        )}
        {steers && status && status.staged.length > 0 && (
          <form class="card stack commit" onSubmit={(e) => {
            e.preventDefault();
            void act(() => api.gitCommit(projectId, message.trim(), session), (r) => {
              setMessage('');
              return `Committed ${(r as { sha: string }).sha.slice(0, 7)}.`;
            });
          }}>
            <label class="field">
              <span>Commit message</span>
              <textarea rows={3} value={message} required onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
            </label>
            <button class="btn primary block" type="submit" disabled={busy || !message.trim()}>Commit {status.staged.length} file{status.staged.length === 1 ? '' : 's'}</button>
          </form>
        )}
        {retry && (
          <IdentityForm projectId={projectId} doing="commit" onSaved={() => {
            setRetry(null);
            retry();
          }} />
        )}
        {steers && status?.upstream && (
          <button class="btn ghost block" disabled={busy} onClick={() => void act(() => api.gitPush(projectId, session), (r) => {
            const push = r as { ok: boolean; output?: string };
            return push.ok ? `Pushed to ${status.upstream}.` : `Push failed: ${push.output ?? ''}`;
          })}>Push to {status.upstream}{status.ahead ? ` (${status.ahead})` : ''}</button>
        )}
      </main>
    </>
  );
}

function Section({ title, action, children }: { title: string; action?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="git-section">
      <div class="section-head"><h2>{title}</h2>{action}</div>
      <ul class="list">{children}</ul>
    </section>
  );
}

function Row({ path, label, link, button }: { path: string; label: string; link: ReturnType<typeof linkTo>; button?: ComponentChildren }) {
  const name = path.split('/').pop();
  const folder = path.slice(0, path.length - (name?.length ?? 0));
  return (
    <li class="list-row git-row" data-path={path}>
      <a class="grow git-file" {...link}>
        <span class="git-name">{name}</span>
        <span class="muted small">{label}{folder ? ` · ${folder}` : ''}</span>
      </a>
      {button}
    </li>
  );
}

/** A unified diff from git, shown file by file (components/Diff.tsx); text that is no diff is shown as it came. */
export function UnifiedDiff({ text, onComment, picking, commented }: {
  text: string; onComment?: (ref: LineRef) => void; picking?: boolean; commented?: LineRef[];
}) {
  const files = useMemo(() => parseUnifiedDiff(text), [text]);
  if (files.length === 0) return <pre class="diff-body unified">{text}</pre>;
  return <Diff files={files} onComment={onComment} picking={picking} commented={commented} />;
}

export function GitDiffView({ projectId, path, staged, session }: { projectId: string; path: string; staged: boolean; session?: string }) {
  const [diff, setDiff] = useState<GitDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [discarded, setDiscarded] = useState(false);
  const steers = useProject(projectId)?.offers?.writeFiles === true;
  useEffect(() => void api.gitDiff(projectId, path, staged, session).then(setDiff, (e) => setError(gitProblem(e))), [projectId, path, staged, session]);
  const discard = () => api.gitDiscard(projectId, [path], staged, session).then(() => {
    setDiscarded(true);
    setConfirm(false);
    setDiff(null);
  }, (e) => setError(gitProblem(e)));
  return (
    <>
      <AppBar back={scoped(`/p/${projectId}/git`, session)} title={path.split('/').pop() ?? path} subtitle={<span class="muted small">{staged ? 'staged' : 'not staged'} · {path}</span>} />
      <main class="page file-page">
        <ErrorNote error={error} />
        {diff && (diff.diff ? <UnifiedDiff text={diff.diff} /> : <Empty><p>No differences.</p></Empty>)}
        {diff?.truncated && <p class="fine">The diff was cut at 2 MB.</p>}
        {discarded && <p class="ok-note" role="status">Changes to {path} discarded.</p>}
        {steers && diff?.diff && !confirm && (
          <button class="btn danger-ghost block" onClick={() => setConfirm(true)}>Discard {staged ? 'all changes' : 'these changes'}…</button>
        )}
        {confirm && (
          <div class="confirm">
            <p>{staged && /^new file mode/m.test(diff?.diff ?? '')
              ? `Delete ${path}? It is not in the last commit, so putting it back as it was there removes it.`
              : staged ? `Put ${path} back as it is in the last commit, staged and unstaged changes both?` : `Put ${path} back as it was staged (or committed)?`} This cannot be undone.</p>
            <div class="row">
              <button class="btn ghost" onClick={() => setConfirm(false)}>Cancel</button>
              <button class="btn danger grow" onClick={() => void discard()}>Discard</button>
            </div>
          </div>
        )}
      </main>
    </>
  );
}

/** The project's history, newest first, fifty at a time. */
export function GitHistory({ projectId, session }: { projectId: string; session?: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [pages, setPages] = useState<GitLog[]>([]);
  const [error, setError] = useState<string | null>(null);
  const more = (skip: number) => api.gitLog(projectId, skip, session).then((page) => setPages((p) => [...p, page]), (e) => setError(gitProblem(e)));
  useEffect(() => {
    setPages([]);
    void more(0);
  }, [projectId]);
  const commits = pages.flatMap((p) => p.commits);
  const next = pages.at(-1)?.next;
  return (
    <>
      <AppBar back={scoped(`/p/${projectId}/git`, session)} title="History" subtitle={project?.name} />
      <main class="page">
        <ErrorNote error={error} />
        {pages.length > 0 && commits.length === 0 && <Empty><p>No commits yet.</p></Empty>}
        <ul class="list">
          {commits.map((c) => (
            <li key={c.sha}>
              <a class="list-row commit-row" data-sha={c.sha} {...linkTo(scoped(`/p/${projectId}/git/commit?sha=${c.sha}`, session))}>
                <div class="grow">
                  <div class="commit-subject">{c.subject}</div>
                  <div class="muted small"><span class="mono-name">{c.sha.slice(0, 7)}</span> · {c.authorName} · {timeAgo(c.authoredAt)}{c.parents.length > 1 ? ' · merge' : ''}</div>
                </div>
                <Icon name="chevron" size={18} />
              </a>
            </li>
          ))}
        </ul>
        {next != null && <button class="btn ghost block" onClick={() => void more(next)}>Show older commits</button>}
      </main>
    </>
  );
}

/** One commit: its message and what it changed. */
export function GitCommitView({ projectId, sha, session }: { projectId: string; sha: string; session?: string }) {
  const [commit, setCommit] = useState<GitCommitDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void api.gitCommitDetail(projectId, sha, session).then(setCommit, (e) => setError(gitProblem(e))), [projectId, sha, session]);
  const body = commit?.message.split('\n').slice(1).join('\n').trim();
  return (
    <>
      <AppBar back={scoped(`/p/${projectId}/git/log`, session)} title={commit?.commit.subject ?? sha.slice(0, 7)}
        subtitle={commit && <span class="muted small">{sha.slice(0, 7)} · {commit.commit.authorName} · {new Date(commit.commit.authoredAt).toLocaleString()}</span>} />
      <main class="page file-page">
        <ErrorNote error={error} />
        {body && <p class="commit-body">{body}</p>}
        {commit && (commit.diff ? <UnifiedDiff text={commit.diff} /> : <Empty><p>This commit changes no files.</p></Empty>)}
        {commit?.truncated && <p class="fine">The diff was cut at 2 MB.</p>}
      </main>
    </>
  );
}

export function Branches({ projectId }: { projectId: string }) {
  const [branches, setBranches] = useState<GitBranches | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const steers = useProject(projectId)?.offers?.writeFiles === true;
  const load = () => api.gitBranches(projectId).then(setBranches, (e) => setError(gitProblem(e)));
  useEffect(() => void load(), [projectId]);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      await load();
    } catch (e) {
      setError(gitProblem(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <AppBar back={`/p/${projectId}/git`} title="Branches" />
      <main class="page">
        <ErrorNote error={error} />
        <ul class="list">
          {branches?.branches.map((b) => (
            <li key={`${b.remote}-${b.name}`} class="list-row">
              <div class="grow">
                <div><strong class="mono-name">{b.name}</strong> {b.current && <span class="badge badge-run">current</span>}</div>
                <div class="muted small">{b.sha.slice(0, 7)}{b.remote ? ' · remote' : ''}{b.upstream ? ` · tracks ${b.upstream}` : ''}</div>
              </div>
              {steers && !b.current && !b.remote && <button class="btn ghost small" disabled={busy} onClick={() => void act(() => api.gitCheckout(projectId, b.name))}>Switch</button>}
            </li>
          ))}
        </ul>
        {steers && (
          <form class="card stack new-branch" onSubmit={(e) => { e.preventDefault(); void act(() => api.gitBranch(projectId, name.trim())).then(() => setName('')); }}>
            <label class="field">
              <span>New branch from here</span>
              <input value={name} autoCapitalize="off" spellcheck={false} placeholder="feature/thing" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
            <button class="btn primary block" type="submit" disabled={busy || !name.trim()}>Create and switch</button>
          </form>
        )}
      </main>
    </>
  );
}
