import { useEffect, useRef, useState } from 'preact/hooks';
import { api, scoped, ApiError, describeError, type DirectoryListing, type FileContent } from '../api';
import { AppBar, Empty, ErrorNote, Icon } from '../components/ui';
import { linkTo } from '../router';
import { DiffView } from '../components/ToolView';
import { textsFile } from '../diff';
import { onNotice, useProject } from '../store';

function problem(e: unknown): string {
  if (e instanceof ApiError && e.code === 'NOT_FOUND') return 'This server has no file browser yet (it needs the workspace endpoints).';
  return describeError(e);
}

function Crumbs({ projectId, path, name, session }: { projectId: string; path: string; name: string; session?: string }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav class="crumbs" aria-label="Folder">
      <a {...linkTo(scoped(`/p/${projectId}/files`, session))}>{name}</a>
      {parts.map((part, i) => {
        const to = parts.slice(0, i + 1).join('/');
        return <span key={to}> / <a {...linkTo(scoped(`/p/${projectId}/files?path=${encodeURIComponent(to)}`, session))}>{part}</a></span>;
      })}
    </nav>
  );
}

/** A project's files, or with `session` those of that session's worktree (its branch of its own). */
export function Files({ projectId, path, session }: { projectId: string; path: string; session?: string }) {
  const project = useProject(projectId);
  const [listing, setListing] = useState<DirectoryListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setListing(null);
    setError(null);
    api.files(projectId, path, session).then(setListing, (e) => setError(problem(e)));
  }, [projectId, path, session]);

  return (
    <>
      <AppBar back={session ? `/s/${session}` : '/'} title="Files" subtitle={session ? `${project?.name ?? ''} · the session's branch` : project?.name} />
      <main class="page">
        <Crumbs projectId={projectId} path={path} name={project?.name ?? 'project'} session={session} />
        <ErrorNote error={error} />
        {listing?.entries.length === 0 && <Empty><p>This folder is empty.</p></Empty>}
        <ul class="list files">
          {listing?.entries.map((e) => (
            <li key={e.path}>
              <a class="list-row file-row" data-path={e.path}
                {...linkTo(scoped(e.type === 'directory' ? `/p/${projectId}/files?path=${encodeURIComponent(e.path)}` : `/p/${projectId}/file?path=${encodeURIComponent(e.path)}`, session))}>
                <Icon name={e.type === 'directory' ? 'folder' : 'file'} />
                <span class="grow">{e.name}</span>
                {e.type === 'file' && e.size != null && <span class="muted small">{size(e.size)}</span>}
              </a>
            </li>
          ))}
        </ul>
        {listing?.truncated && <p class="fine">Only the first {listing.limit} entries are shown.</p>}
      </main>
    </>
  );
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

type Highlighter = typeof import('../highlight');
// Highlighting is for reading, not for a wall of tokens: past this size the file is shown plain.
const HIGHLIGHT_LIMIT = 256 * 1024;
let highlighter: Promise<Highlighter> | undefined;

/** Lines of the file, coloured once the highlighter (its own chunk, fetched only here) has loaded. */
function useHighlighted(path: string, content: string | undefined): Token[][] | null {
  const [lines, setLines] = useState<Token[][] | null>(null);
  useEffect(() => {
    setLines(null);
    if (content === undefined || content.length > HIGHLIGHT_LIMIT) return;
    let live = true;
    highlighter ??= import('../highlight');
    void highlighter.then((h) => {
      const language = h.languageFor(path);
      if (live && language) setLines(h.highlightLines(content, language));
    }, () => { highlighter = undefined; });
    return () => { live = false; };
  }, [path, content]);
  return lines;
}

type Token = { kind: string; text: string };

/** A file: read with highlighting, or edited and saved over exactly the version that was opened. */
export function FileView({ projectId, path, session }: { projectId: string; path: string; session?: string }) {
  const project = useProject(projectId);
  const [file, setFile] = useState<FileContent | null>(null);
  const [wrap, setWrap] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [draft, setDraft] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  // Writing a file by hand, where the server offers it (git, agent or CI configuration may need more: it says so on save).
  const steers = project?.offers?.writeFiles === true;
  // Set by the watcher while editing: the file on disk is no longer the one the draft started from.
  const [changedOnDisk, setChangedOnDisk] = useState(false);
  // A save refused because the file moved on: what is on disk now (null: it was deleted).
  const [conflict, setConflict] = useState<{ theirs: FileContent | null } | null>(null);
  const editing = draft !== null;
  // A text box keeps only "\n": a file written with "\r\n" gets them back on save, so an edit never rewrites every line.
  const crlf = file?.content.includes('\r\n') ?? false;
  const original = file ? file.content.replaceAll('\r\n', '\n') : '';
  const editingRef = useRef(editing);
  editingRef.current = editing;

  const load = () => api.file(projectId, path, session).then((f) => { setFile(f); setChangedOnDisk(false); }, (e) => setError(problem(e)));
  useEffect(() => void load(), [projectId, path, session]);
  const version = useRef<string | undefined>(undefined);
  version.current = file?.sha256;
  // The watcher reports every write, our own saves too: only a version other than the one shown counts as a change.
  useEffect(() => onNotice('file.changed', (changes) => {
    // The watcher follows the project's folder: a worktree's file is not reloaded by it.
    if (session || changes.projectId !== projectId || (!changes.truncated && !changes.paths.includes(path))) return;
    void api.file(projectId, path).then((f) => {
      if (f.sha256 === version.current) return;
      if (editingRef.current) setChangedOnDisk(true);
      else {
        setFile(f);
        setNote('Updated: the file changed on disk.');
      }
    }, () => { if (editingRef.current) setChangedOnDisk(true); });
  }), [projectId, path, session]);
  const highlighted = useHighlighted(path, editing ? undefined : file?.content);

  const save = async (over: string) => {
    if (draft === null) return;
    setSaving(true);
    setError(null);
    try {
      const content = crlf ? draft.replaceAll('\n', '\r\n') : draft;
      const written = await api.writeFile(projectId, path, content, over, session);
      setFile({ path, content, size: written.size, modifiedAt: written.modifiedAt, sha256: written.sha256, utf8: true });
      setDraft(null);
      setConflict(null);
      setChangedOnDisk(false);
      setNote('Saved.');
    } catch (e) {
      if (e instanceof ApiError && e.code === 'FILE_CHANGED') {
        const theirs = await api.file(projectId, path, session).catch(() => null);
        setConflict({ theirs });
      } else {
        setError(describeError(e));
      }
    } finally {
      setSaving(false);
    }
  };

  const parent = path.split('/').slice(0, -1).join('/');
  const name = path.split('/').pop() ?? path;
  const lines = file?.content.split('\n') ?? [];
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();

  return (
    <>
      <AppBar back={scoped(`/p/${projectId}/files${parent ? `?path=${encodeURIComponent(parent)}` : ''}`, session)} title={name}
        subtitle={<span class="muted small">{project?.name} / {path}</span>}
        actions={<>
          <button class="icon-btn" aria-pressed={wrap} aria-label="Wrap lines" onClick={() => setWrap(!wrap)}><Icon name="code" /></button>
          {steers && file?.utf8 && !editing && <button class="icon-btn" aria-label="Edit" onClick={() => { setDraft(original); setNote(null); }}><Icon name="edit" /></button>}
        </>} />
      <main class={`page file-page${editing ? ' editing' : ''}`}>
        <ErrorNote error={error} />
        {note && !editing && <p class="ok-note" role="status">{note}</p>}
        {file && !file.utf8 && <p class="fine">This file is not UTF-8 text: shown with � where its bytes could not be read, and not editable here (saving would change them).</p>}
        {file && !editing && (
          <pre class={`file-content${wrap ? ' wrap' : ''}`} data-testid="file-content" data-highlighted={highlighted ? 'true' : undefined}>
            {lines.map((line, i) => (
              <span key={i} class="line"><span class="ln" aria-hidden="true">{i + 1}</span>
                {highlighted?.[i] ? highlighted[i]!.map((t, j) => t.kind === 'plain' ? t.text : <span key={j} class={`tok-${t.kind}`}>{t.text}</span>) : line}{'\n'}</span>
            ))}
          </pre>
        )}
        {editing && (
          <>
            {changedOnDisk && !conflict && (
              <div class="warn-note" role="alert">This file changed on disk since you opened it. Saving will ask what to keep.</div>
            )}
            {conflict && (
              <div class="confirm conflict" role="alert" data-testid="file-conflict">
                <p><strong>{conflict.theirs ? 'The file changed on disk while you edited it.' : 'The file was deleted while you edited it.'}</strong> Nothing was saved.</p>
                {conflict.theirs && <DiffView files={[textsFile('disk → yours', conflict.theirs.content.replaceAll('\r\n', '\n'), draft)]} />}
                <div class="row wrap-row">
                  <button class="btn ghost" disabled={saving} onClick={() => {
                    setDraft(null);
                    setConflict(null);
                    if (conflict.theirs) setFile(conflict.theirs);
                    else void load();
                  }}>Discard mine</button>
                  <button class="btn danger grow" disabled={saving}
                    onClick={() => void save(conflict.theirs?.sha256 ?? '')}>{conflict.theirs ? 'Replace with mine' : 'Save mine again'}</button>
                </div>
              </div>
            )}
            <textarea class={`file-editor${wrap ? ' wrap' : ''}`} data-testid="file-editor" value={draft} spellcheck={false} autocapitalize="off"
              autocomplete="off" aria-label={`Edit ${name}`} onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)} />
            <div class="row sticky-actions">
              <button class="btn ghost" disabled={saving} onClick={() => { setDraft(null); setConflict(null); }}>Cancel</button>
              <button class="btn primary grow" disabled={saving || draft === original || conflict !== null}
                onClick={() => void save(file!.sha256)}>{saving ? 'Saving…' : 'Save'}</button>
            </div>
          </>
        )}
      </main>
    </>
  );
}
