import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError, type DirectoryListing, type FileContent } from '../api';
import { AppBar, Empty, ErrorNote, Icon } from '../components/ui';
import { linkTo } from '../router';
import { useStore } from '../store';

function problem(e: unknown): string {
  if (e instanceof ApiError && e.code === 'NOT_FOUND') return 'This server has no file browser yet (it needs the workspace endpoints).';
  return describeError(e);
}

function Crumbs({ projectId, path, name }: { projectId: string; path: string; name: string }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav class="crumbs" aria-label="Folder">
      <a {...linkTo(`/p/${projectId}/files`)}>{name}</a>
      {parts.map((part, i) => {
        const to = parts.slice(0, i + 1).join('/');
        return <span key={to}> / <a {...linkTo(`/p/${projectId}/files?path=${encodeURIComponent(to)}`)}>{part}</a></span>;
      })}
    </nav>
  );
}

export function Files({ projectId, path }: { projectId: string; path: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [listing, setListing] = useState<DirectoryListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setListing(null);
    setError(null);
    api.files(projectId, path).then(setListing, (e) => setError(problem(e)));
  }, [projectId, path]);

  return (
    <>
      <AppBar back="/" title="Files" subtitle={project?.name} />
      <main class="page">
        <Crumbs projectId={projectId} path={path} name={project?.name ?? 'project'} />
        <ErrorNote error={error} />
        {listing?.entries.length === 0 && <Empty><p>This folder is empty.</p></Empty>}
        <ul class="list files">
          {listing?.entries.map((e) => (
            <li key={e.path}>
              <a class="list-row file-row" data-path={e.path}
                {...linkTo(e.type === 'directory' ? `/p/${projectId}/files?path=${encodeURIComponent(e.path)}` : `/p/${projectId}/file?path=${encodeURIComponent(e.path)}`)}>
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

export function FileView({ projectId, path }: { projectId: string; path: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [file, setFile] = useState<FileContent | null>(null);
  const [wrap, setWrap] = useState(true);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.file(projectId, path).then(setFile, (e) => setError(problem(e)));
  }, [projectId, path]);
  const parent = path.split('/').slice(0, -1).join('/');
  const name = path.split('/').pop() ?? path;
  const lines = file?.content.split('\n') ?? [];
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();

  return (
    <>
      <AppBar back={`/p/${projectId}/files${parent ? `?path=${encodeURIComponent(parent)}` : ''}`} title={name}
        subtitle={<span class="muted small">{project?.name} / {path}</span>}
        actions={<button class="icon-btn" aria-pressed={wrap} aria-label="Wrap lines" onClick={() => setWrap(!wrap)}><Icon name="code" /></button>} />
      <main class="page file-page">
        <ErrorNote error={error} />
        {file && (
          <pre class={`file-content${wrap ? ' wrap' : ''}`} data-testid="file-content">
            {lines.map((line, i) => <span key={i} class="line"><span class="ln" aria-hidden="true">{i + 1}</span>{line}{'\n'}</span>)}
          </pre>
        )}
      </main>
    </>
  );
}
