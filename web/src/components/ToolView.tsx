import { createContext } from 'preact';
import { useContext, useMemo, useState } from 'preact/hooks';
import { editFile, type EditContext, type DiffFile } from '../diff';
import { Diff } from './Diff';

// How a tool call's input reads wherever it is shown (the transcript's rows, an approval card, the files screen's diffs):
// its own module, so that the approval card and the transcript both use it without importing each other.

/** The project's folder: paths inside it are shown relative to it, paths outside stay absolute (and stand out). */
export const ProjectRoot = createContext('');

export function useRelative(): (text: string) => string {
  const root = useContext(ProjectRoot).replace(/\/+$/, '');
  return (text) => (root ? text.split(`${root}/`).join('') : text);
}

/** The copy button of a code block (markdown.ts writes it): the block's text to the clipboard, and a word that it went. */
export function copyCode(e: MouseEvent): void {
  const button = (e.target as Element).closest<HTMLButtonElement>('.copy-code');
  const code = button?.parentElement?.querySelector('code');
  if (!button || !code) return;
  const text = code.textContent ?? '';
  const done = (word: string) => {
    button.textContent = word;
    window.setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  };
  // The clipboard API needs a secure context; a phone on plain http over the LAN falls back to a selection copy.
  const fallback = () => {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    done(copied ? 'Copied' : 'Copy failed');
  };
  if (navigator.clipboard?.writeText) void navigator.clipboard.writeText(text).then(() => done('Copied'), fallback);
  else fallback();
}

/** What the agent asked to run before the owner edited it. */
export function AskedFor({ tool, title, input }: { tool: string; title: string; input: unknown }) {
  const rel = useRelative();
  const o = (input ?? {}) as Record<string, unknown>;
  const command = typeof o.command === 'string' ? o.command : null;
  return (
    <div class="asked-for" data-testid="asked-for">
      <p><span class="muted">Asked for:</span> <code class="asked-title">{rel(command ?? title)}</code></p>
      {command === null && <ToolInput tool={tool} input={input} />}
      <p class="muted">What ran, as you edited it:</p>
    </div>
  );
}

/** `context`: the file's lines around an edit, as the server read them when it asked (approval.requested's editContext). */
/** A command longer than this many lines (or characters) is folded on an approval card: its buttons stay on a phone's screen. */
export const FOLD_LINES = 4;
const FOLD_CHARS = 240;

/** @param fold Fold a long command to its first lines, with a button to show it all (an approval card's). */
export function ToolInput({ tool, input, context, fold = false }: { tool: string; input: unknown; context?: EditContext | null; fold?: boolean }) {
  const edit = useMemo(() => editFile(tool, input, context), [tool, input, context]);
  if (edit) return <DiffView files={[edit]} />;
  const o = (input ?? {}) as Record<string, unknown>;
  if (typeof o.command === 'string') {
    return (
      <div class="command">
        {typeof o.description === 'string' && <div class="muted small">{o.description}</div>}
        <CommandText command={o.command} fold={fold} />
      </div>
    );
  }
  if (input === undefined) return null;
  return <pre class="code json">{JSON.stringify(input, null, 2)}</pre>;
}

/** The command, whole in the page (search and copy find all of it), shown folded to its first lines until asked. */
function CommandText({ command, fold }: { command: string; fold: boolean }) {
  const [open, setOpen] = useState(false);
  const lines = command.split('\n').length;
  const long = fold && (lines > FOLD_LINES || command.length > FOLD_CHARS);
  return (
    <>
      <pre class={`code${long && !open ? ' folded' : ''}`}><span class="prompt" aria-hidden="true">$ </span>{command}</pre>
      {long && (
        <button type="button" class="link-btn fold-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Show less' : `Show the whole command (${lines} line${lines === 1 ? '' : 's'})`}
        </button>
      )}
    </>
  );
}

/** Diffs inside the transcript (an edit's preview): paths relative to the project, shortened to their last parts. */
export function DiffView({ files }: { files: DiffFile[] }) {
  const rel = useRelative();
  return <Diff files={files} label={(path) => shortPath(rel(path))} />;
}

export function shortPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length > 3 ? `…/${parts.slice(-3).join('/')}` : path;
}
