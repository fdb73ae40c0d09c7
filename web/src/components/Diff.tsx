import { useEffect, useRef, useState } from 'preact/hooks';
import type { DiffFile, Hunk, NumberedLine, Segment } from '../diff';
import { loadHighlighter, type Token } from '../lazyHighlight';

const STATUS_WORD: Record<DiffFile['status'], string> = { added: 'new file', deleted: 'deleted', modified: 'modified', renamed: 'renamed', copied: 'copied' };
// Highlighting is for reading: a file's diff past this size is shown uncoloured.
const HIGHLIGHT_LIMIT = 200 * 1024;
// Past this many files, each starts folded: the list of headers is the overview.
const FOLD_FROM = 8;
const LONG_PRESS_MS = 500;

/** A line of a diff the owner can point at: the file, and the line's number on the side it belongs to. */
export interface LineRef { path: string; line: number; side: 'old' | 'new'; text: string }

export function lineRef(file: DiffFile, line: NumberedLine): LineRef {
  return line.kind === 'del'
    ? { path: file.oldPath || file.path, line: line.old ?? 0, side: 'old', text: line.text }
    : { path: file.path, line: line.new ?? 0, side: 'new', text: line.text };
}

const refKey = (r: LineRef) => `${r.path}\u0000${r.side}\u0000${r.line}`;

interface DiffProps {
  files: DiffFile[];
  /** Shown instead of each path (made relative to the project by the caller). */
  label?: (path: string) => string;
  /** Lets the owner comment on a line: a long press on it; with `picking`, a tap on its number too. */
  onComment?: (ref: LineRef) => void;
  /** Each line's number becomes a 44px button (rows grow to fit): the visible, tap-sized way to what a long press does. */
  picking?: boolean;
  /** Lines that already carry a comment, marked. */
  commented?: LineRef[];
}

/**
 * Every diff in the app: per file (folding, with its counts), old and new line numbers, the changed words of each
 * changed pair, wrapped lines hanging at their own indentation, and syntax colours once the highlighter has loaded.
 */
export function Diff({ files, label = (p) => p, onComment, picking = false, commented = [] }: DiffProps) {
  const marked = new Set(commented.map(refKey));
  return (
    <div class={`diffs${onComment ? ' commentable' : ''}${onComment && picking ? ' picking' : ''}`}>
      {files.map((file, i) => (
        <DiffFileView key={`${i}-${file.path}`} file={file} label={label} foldedAtFirst={files.length >= FOLD_FROM} onComment={onComment} picking={picking} marked={marked} />
      ))}
    </div>
  );
}

function DiffFileView({ file, label, foldedAtFirst, onComment, picking, marked }: {
  file: DiffFile; label: (path: string) => string; foldedAtFirst: boolean; onComment?: (ref: LineRef) => void; picking: boolean; marked: Set<string>;
}) {
  const [open, setOpen] = useState(!foldedAtFirst);
  const colours = useHighlightedFile(file, open);
  const width = Math.max(2, String(Math.max(0, ...file.hunks.flatMap((h) => h.lines.map((l) => Math.max(l.old ?? 0, l.new ?? 0))))).length);
  const numbered = file.hunks.some((h) => h.lines.some((l) => l.old !== undefined || l.new !== undefined));
  return (
    <section class="diff diff-file" data-path={file.path} data-status={file.status}>
      <button type="button" class="diff-head diff-file-head" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class="diff-chevron" aria-hidden="true">{open ? '▾' : '▸'}</span>
        <span class="diff-path" title={file.path}>
          {file.status === 'renamed' || file.status === 'copied' ? <>{label(file.oldPath)} → {label(file.path)}</> : label(file.path)}
        </span>
        <span class="diff-stat">
          {file.status !== 'modified' && <span class="diff-status">{STATUS_WORD[file.status]} </span>}
          {file.binary ? 'binary' : <><span class="plus">+{file.added}</span> <span class="minus">−{file.deleted}</span></>}
        </span>
      </button>
      {open && (
        <div class="diff-body" style={{ '--ln': `${width}ch` }} data-numbered={numbered || undefined}>
          {file.mode && <div class="diff-note">Mode {file.mode}</div>}
          {file.note && <div class="diff-note diff-warn" data-testid="diff-note">{file.note}</div>}
          {file.binary && <div class="diff-note">A binary file: its contents are not shown.</div>}
          {!file.binary && file.hunks.length === 0 && <div class="diff-note">{file.status === 'renamed' ? 'Moved, contents unchanged.' : 'No changes to its lines.'}</div>}
          {file.hunks.map((hunk, h) => (
            <HunkView key={h} file={file} hunk={hunk} first={h === 0} colours={colours} numbered={numbered} onComment={onComment} picking={picking} marked={marked} />
          ))}
        </div>
      )}
    </section>
  );
}

function HunkView({ file, hunk, first, colours, numbered, onComment, picking, marked }: {
  file: DiffFile; hunk: Hunk; first: boolean; colours: Map<NumberedLine, Token[]> | null; numbered: boolean;
  onComment?: (ref: LineRef) => void; picking: boolean; marked: Set<string>;
}) {
  const from = hunk.lines.find((l) => l.new !== undefined)?.new ?? hunk.newStart;
  // The first hunk starting at the top needs no heading; any other says where it is (and git's enclosing function).
  const heading = !first || (numbered && from > 1) || hunk.section;
  return (
    <>
      {heading && (
        <div class="dl-hunk">
          {numbered && from > 0 ? `Line ${from}` : '⋯'}{hunk.section && <span class="mono"> · {hunk.section}</span>}
        </div>
      )}
      {hunk.lines.map((line, i) => (
        <LineView key={i} file={file} line={line} tokens={colours?.get(line)} onComment={onComment} picking={picking} marked={marked} numbered={numbered} />
      ))}
    </>
  );
}

function LineView({ file, line, tokens, onComment, picking, marked, numbered }: {
  file: DiffFile; line: NumberedLine; tokens?: Token[]; onComment?: (ref: LineRef) => void; picking: boolean; marked: Set<string>; numbered: boolean;
}) {
  const timer = useRef<number | undefined>(undefined);
  const pressed = useRef(false);
  const ref = lineRef(file, line);
  const isMarked = marked.has(refKey(ref));
  const indent = indentColumns(line.text);
  const comment = onComment && ref.line > 0 ? () => onComment(ref) : undefined;
  const cancel = () => {
    window.clearTimeout(timer.current);
    timer.current = undefined;
  };
  // A long press on the line comments on it (the number is the tap-sized way to the same thing).
  const press = comment && {
    onPointerDown: (e: PointerEvent) => {
      if ((e.target as Element).closest('button')) return;
      pressed.current = false;
      cancel();
      timer.current = window.setTimeout(() => {
        pressed.current = true;
        timer.current = undefined;
        comment();
      }, LONG_PRESS_MS);
    },
    onPointerUp: cancel,
    onPointerCancel: cancel,
    onPointerLeave: cancel,
    onContextMenu: (e: Event) => { if (pressed.current || timer.current !== undefined) e.preventDefault(); },
  };
  return (
    <div class={`dl ${line.kind}${isMarked ? ' commented' : ''}`} data-old={line.old} data-new={line.new} {...press}>
      {comment && picking
        ? <button type="button" class="ln pick" aria-label={`Comment on ${ref.path} line ${ref.line}`} onClick={comment}>{ref.side === 'old' ? `−${ref.line}` : ref.line}</button>
        : numbered && <><span class="ln">{line.old ?? ''}</span><span class="ln">{line.new ?? ''}</span></>}
      <span class="dl-sign" aria-hidden="true">{line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : ' '}</span>
      <span class="dl-code" style={{ '--indent': `${indent + 2}ch` }}>
        {pieces(line.text, tokens, line.words).map((p, i) => {
          const cls = [p.kind && p.kind !== 'plain' ? `tok-${p.kind}` : '', p.changed ? 'word' : ''].filter(Boolean).join(' ');
          return cls ? <span key={i} class={cls}>{p.text}</span> : p.text;
        })}
        {line.noNewline && <span class="dl-eof" title="No newline at the end of the file"> ⏎̸</span>}
      </span>
    </div>
  );
}

/** Columns of leading whitespace (a tab counts 4, as the CSS tab-size): where a wrapped line's continuation hangs. */
function indentColumns(text: string): number {
  let columns = 0;
  for (const c of text) {
    if (c === ' ') columns++;
    else if (c === '\t') columns += 4 - (columns % 4);
    else break;
  }
  // All whitespace: nothing to hang from. A very deep indent would leave no room on a phone.
  return columns === text.length ? 0 : Math.min(columns, 24);
}

interface Piece { text: string; kind?: string; changed: boolean }

/** The line cut where either a syntax token or a changed-word run starts or ends. */
function pieces(text: string, tokens?: Token[], words?: Segment[]): Piece[] {
  const t = tokens && tokens.reduce((n, x) => n + x.text.length, 0) === text.length ? tokens : [{ kind: 'plain', text }];
  const w = words && words.reduce((n, x) => n + x.text.length, 0) === text.length ? words : [{ text, changed: false }];
  const out: Piece[] = [];
  let ti = 0;
  let wi = 0;
  let tOff = 0;
  let wOff = 0;
  while (ti < t.length && wi < w.length) {
    const tk = t[ti]!;
    const wd = w[wi]!;
    const take = Math.min(tk.text.length - tOff, wd.text.length - wOff);
    if (take > 0) out.push({ text: tk.text.slice(tOff, tOff + take), kind: tk.kind, changed: wd.changed });
    tOff += take;
    wOff += take;
    if (tOff >= tk.text.length) { ti++; tOff = 0; }
    if (wOff >= wd.text.length) { wi++; wOff = 0; }
  }
  return out;
}

/**
 * Syntax colours for a file's lines, once the highlighter chunk has loaded (only when the file is open): each side's
 * text of a hunk is highlighted as a whole, so a string or comment spanning lines is coloured right.
 */
function useHighlightedFile(file: DiffFile, open: boolean): Map<NumberedLine, Token[]> | null {
  const [colours, setColours] = useState<{ file: DiffFile; map: Map<NumberedLine, Token[]> } | null>(null);
  const current = colours?.file === file ? colours.map : null;
  useEffect(() => {
    if (!open || file.binary || current) return;
    const size = file.hunks.reduce((n, h) => n + h.lines.reduce((m, l) => m + l.text.length + 1, 0), 0);
    if (size === 0 || size > HIGHLIGHT_LIMIT) return;
    let live = true;
    void loadHighlighter().then((h) => {
      const language = h.languageFor(file.path);
      if (!live || !language) return;
      const map = new Map<NumberedLine, Token[]>();
      for (const hunk of file.hunks) {
        for (const sideKind of ['del', 'add'] as const) {
          const lines = hunk.lines.filter((l) => l.kind === 'ctx' || l.kind === sideKind);
          const highlighted = h.highlightLines(lines.map((l) => l.text).join('\n'), language);
          lines.forEach((l, i) => { if (l.kind === sideKind || sideKind === 'add') map.set(l, highlighted[i] ?? []); });
        }
      }
      setColours({ file, map });
    }, () => {});
    return () => { live = false; };
  }, [file, open]);
  return current;
}
