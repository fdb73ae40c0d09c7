// A small markdown renderer for model text. Every character of the input reaches the output escaped; the
// only markup is what this file writes itself, and links are kept only for http(s) and mailto.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const SAFE_URL = /^(https?:\/\/|mailto:)[^\s<>"'`]+$/i;

/** The href to use, or null when the link must not be clickable (javascript:, data:, relative, malformed). */
export function safeHref(url: string): string | null {
  const trimmed = url.trim();
  // Control characters and whitespace inside a scheme are how "java\tscript:" slips past naive checks.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return null;
  return SAFE_URL.test(trimmed) ? trimmed : null;
}

function link(text: string, url: string): string {
  const href = safeHref(url);
  if (!href) return escapeHtml(text === url ? url : `${text} (${url})`);
  return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${text === url ? escapeHtml(text) : inline(text)}</a>`;
}

/** Inline spans: `code`, **bold**, *italic* / _italic_, [text](url), bare http(s) URLs. */
export function inline(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end > i) {
        out += `<code>${escapeHtml(src.slice(i + 1, end))}</code>`;
        i = end + 1;
        continue;
      }
    }
    if ((c === '*' || c === '_') && src[i + 1] === c) {
      const end = src.indexOf(c + c, i + 2);
      if (end > i + 2) {
        out += `<strong>${inline(src.slice(i + 2, end))}</strong>`;
        i = end + 2;
        continue;
      }
    }
    if ((c === '*' || c === '_') && src[i + 1] !== ' ' && (c === '*' || i === 0 || /\W/.test(src[i - 1]!))) {
      const end = src.indexOf(c, i + 1);
      if (end > i + 1 && src[end - 1] !== ' ' && (c === '*' || end + 1 >= src.length || /\W/.test(src[end + 1]!))) {
        out += `<em>${inline(src.slice(i + 1, end))}</em>`;
        i = end + 1;
        continue;
      }
    }
    if (c === '[') {
      const close = src.indexOf('](', i + 1);
      const end = close > 0 ? src.indexOf(')', close + 2) : -1;
      if (close > i && end > close) {
        out += link(src.slice(i + 1, close), src.slice(close + 2, end));
        i = end + 1;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && /^https?:\/\//i.test(src.slice(i, i + 8))) {
      const match = /^https?:\/\/[^\s<>"'`)\]]+/i.exec(src.slice(i));
      if (match) {
        const url = match[0].replace(/[.,;:!?]+$/, '');
        out += link(url, url);
        i += url.length;
        continue;
      }
    }
    out += escapeHtml(c);
    i++;
  }
  return out;
}

const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
/**
 * Bounds on a table from the model's text: a line past them is no table row, and rows past the cell bound are left as
 * plain text after the table. Without them a
 * prompt-injected reply of a few KB (thousands of columns times thousands of rows) became hundreds of MB of cells, and
 * the phone froze on every replay of the session.
 */
export const TABLE_LIMITS = { lineLength: 4096, columns: 64, cells: 20_000 };

/** One delimiter cell: dashes, with an optional colon at either end. */
const DELIMITER_CELL = /^:?-+:?$/;

/** A delimiter row (`| --- | :-: |`), judged cell by cell: linear in its length (a single pattern over the whole line backtracked). */
function isDelimiterRow(line: string): boolean {
  if (line.length > TABLE_LIMITS.lineLength || !line.includes('-')) return false;
  const cells = tableCells(line);
  return cells.length <= TABLE_LIMITS.columns && cells.every((cell) => DELIMITER_CELL.test(cell));
}

/** A GFM table row's cells: split at pipes outside code spans (a `\|` is a pipe in the cell), outer pipes dropped. */
export function tableCells(row: string): string[] {
  let text = row.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  let code = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '`') {
      code = !code;
      cell += c;
    } else if (c === '|' && !code) {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

/** A header row followed by a delimiter row with as many columns starts a table. */
function isTableStart(lines: string[], i: number): boolean {
  const head = lines[i]!;
  const delimiter = lines[i + 1];
  return head.includes('|') && head.length <= TABLE_LIMITS.lineLength && delimiter !== undefined && isDelimiterRow(delimiter)
    && tableCells(head).length === tableCells(delimiter).length;
}

const ALIGN: Record<string, string> = { left: ' class="al"', center: ' class="ac"', right: ' class="ar"' };

/** A GFM table, in a box that scrolls sideways on a narrow screen; cells are inline markdown (escaped like any text). */
function table(lines: string[], start: number): { html: string; end: number } {
  const head = tableCells(lines[start]!);
  const aligns = tableCells(lines[start + 1]!).map((d) =>
    d.startsWith(':') && d.endsWith(':') ? 'center' : d.endsWith(':') ? 'right' : d.startsWith(':') ? 'left' : '');
  const cell = (tag: string, text: string, k: number) => `<${tag}${ALIGN[aligns[k] ?? ''] ?? ''}>${inline(text)}</${tag}>`;
  let i = start + 2;
  const rows: string[] = [];
  let cells = head.length;
  while (i < lines.length && lines[i]!.trim() && lines[i]!.includes('|') && lines[i]!.length <= TABLE_LIMITS.lineLength
    && (cells += head.length) <= TABLE_LIMITS.cells) {
    const row = tableCells(lines[i++]!);
    // Short rows are padded and long ones cut, as GFM does: every row has the header's columns.
    rows.push(`<tr>${head.map((_, k) => cell('td', row[k] ?? '', k)).join('')}</tr>`);
  }
  const html = `<div class="md-table" tabindex="0"><table><thead><tr>${head.map((h, k) => cell('th', h, k)).join('')}</tr></thead>`
    + `<tbody>${rows.join('')}</tbody></table></div>`;
  return { html, end: i };
}

/** Block structure: paragraphs, fenced code, headings, quotes, lists (with task boxes). Returns safe HTML. */
export function renderMarkdown(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^\s*(```+|~~~+)\s*([\w+.-]*)/.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(marker)) body.push(lines[i++]!);
      i++; // the closing fence (or the end)
      const lang = fence[2] ? ` data-lang="${escapeHtml(fence[2])}"` : '';
      // The copy button is ours; the transcript wires it (and colours the code once the highlighter has loaded).
      out.push(`<div class="code-block"><pre${lang}><code>${escapeHtml(body.join('\n'))}</code></pre>`
        + `<button type="button" class="copy-code" aria-label="Copy code">Copy</button></div>`);
      continue;
    }
    if (isTableStart(lines, i)) {
      const { html, end } = table(lines, i);
      out.push(html);
      i = end;
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1]!.length + 2);
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
      i++;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) quote.push(lines[i++]!.replace(/^\s*>\s?/, ''));
      out.push(`<blockquote>${renderMarkdown(quote.join('\n'))}</blockquote>`);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && LIST_ITEM.test(lines[i]!) && /^\s*\d/.test(lines[i]!) === ordered) {
        let content = LIST_ITEM.exec(lines[i]!)![3]!;
        i++;
        // Continuation lines (indented, not a new item) belong to this item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]!) && !LIST_ITEM.test(lines[i]!)) content += ' ' + lines[i++]!.trim();
        const task = /^\[([ xX])\]\s+(.*)$/.exec(content);
        items.push(task
          ? `<li class="task${task[1] === ' ' ? '' : ' done'}"><span class="box" aria-hidden="true">${task[1] === ' ' ? '' : '✓'}</span>${inline(task[2]!)}</li>`
          : `<li>${inline(content)}</li>`);
      }
      out.push(ordered ? `<ol>${items.join('')}</ol>` : `<ul>${items.join('')}</ul>`);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i]!.trim() && !LIST_ITEM.test(lines[i]!) && !/^(#{1,6}\s|\s*>|\s*```|\s*~~~)/.test(lines[i]!)
      && !(paragraph.length && isTableStart(lines, i))) {
      paragraph.push(lines[i++]!.trim());
    }
    out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
  }
  return out.join('');
}
