import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type FolderListing, type FolderSuggestion, type FolderSuggestions } from '../api';
import { ErrorNote, Icon } from './ui';
import { agentName } from '../agents';

/** A folder as the owner reads it: under home as `~/code/app`, elsewhere as it is. */
export function tilde(path: string, home?: string): string {
  if (!home) return path;
  if (path === home) return '~';
  return path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
}

/**
 * Picks a project's folder without typing a server path: suggestions (folders added before, folders the owner's agents
 * worked in, git repositories under home) and a browser of the owner's home, one level at a time. What is picked goes into
 * the path field, which stays there to type into as well.
 */
export function FolderPicker({ onPick, picked }: { onPick: (path: string) => void; picked: string }) {
  const [suggestions, setSuggestions] = useState<FolderSuggestions | null>(null);
  const [browsing, setBrowsing] = useState(false);

  useEffect(() => {
    api.folderSuggestions().then(setSuggestions, () => setSuggestions({ home: '', recent: [], agents: [], repositories: [], truncated: false }));
  }, []);

  const home = suggestions?.home || undefined;
  const groups: [string, FolderSuggestion[]][] = suggestions
    ? [['Added before', suggestions.recent], ['Your agents worked in', suggestions.agents], ['Repositories in your home folder', suggestions.repositories]]
    : [];
  const none = suggestions && groups.every(([, list]) => list.length === 0);

  return (
    <div class="folder-picker stack">
      {!suggestions && <p class="muted small">Looking for folders…</p>}
      {groups.filter(([, list]) => list.length > 0).map(([title, list]) => (
        <section key={title} class="folder-group" aria-label={title}>
          <h3 class="folder-group-title">{title}</h3>
          <ul class="plain folder-list">
            {list.map((s) => (
              <li key={s.path}>
                <button type="button" class={`folder-row${picked === s.path ? ' picked' : ''}`} aria-pressed={picked === s.path} onClick={() => onPick(s.path)}>
                  <Icon name="folder" size={20} />
                  <span class="folder-name">{tilde(s.path, home)}</span>
                  {s.agents.length > 0 && <span class="muted small">{s.agents.map(agentName).join(', ')}</span>}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {none && <p class="muted small">No suggestions: browse your home folder, or type the folder's path.</p>}
      {browsing
        ? <FolderBrowser home={home} picked={picked} onPick={onPick} onClose={() => setBrowsing(false)} />
        : <button type="button" class="btn ghost block" onClick={() => setBrowsing(true)}><Icon name="folder" size={20} /> Browse your home folder</button>}
    </div>
  );
}

function FolderBrowser({ home, picked, onPick, onClose }: { home?: string; picked: string; onPick: (path: string) => void; onClose: () => void }) {
  const [path, setPath] = useState('');
  const [hidden, setHidden] = useState(false);
  const [listing, setListing] = useState<FolderListing | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    api.folders(path, hidden).then((l) => current && setListing(l), (e) => current && setError(describeError(e)));
    return () => void (current = false);
  }, [path, hidden]);

  const at = listing ? tilde(listing.path, listing.home ?? home) : '…';
  return (
    <section class="folder-browser stack" aria-label="Browse folders">
      <div class="folder-browser-head">
        <button type="button" class="icon-btn" aria-label="Up one folder" disabled={!listing?.parent} onClick={() => listing?.parent && setPath(listing.parent)}>
          <Icon name="back" size={20} />
        </button>
        <strong class="folder-here" data-folder={listing?.path}>{at}</strong>
        <button type="button" class="icon-btn" aria-label="Close the folder browser" onClick={onClose}><Icon name="cross" size={20} /></button>
      </div>
      <ErrorNote error={error} />
      {listing && (
        <button type="button" class={`btn block${picked === listing.path ? ' primary' : ''}`} onClick={() => onPick(listing.path)}>
          {picked === listing.path ? <><Icon name="check" size={20} /> Chosen: {at}</> : <>Use {at}</>}
        </button>
      )}
      {listing && (
        <ul class="plain folder-list">
          {listing.folders.map((f) => (
            <li key={f.path}>
              <button type="button" class="folder-row" onClick={() => setPath(f.path)}>
                <Icon name={f.git ? 'branch' : 'folder'} size={20} />
                <span class="folder-name">{f.name}</span>
                {f.projectId && <span class="badge badge-idle">Project</span>}
                {f.git && !f.projectId && <span class="muted small">git</span>}
                <Icon name="chevron" size={18} />
              </button>
            </li>
          ))}
          {listing.folders.length === 0 && <li class="muted small folder-empty">No folders here.</li>}
        </ul>
      )}
      {listing?.truncated && <p class="muted small">Only the first {listing.folders.length} folders are shown.</p>}
      <label class="toggle-row">
        <input type="checkbox" name="hidden-folders" checked={hidden} onChange={(e) => setHidden((e.target as HTMLInputElement).checked)} />
        <span>Show hidden folders</span>
      </label>
    </section>
  );
}
