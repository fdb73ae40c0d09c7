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
      out.push(`<pre${lang}><code>${escapeHtml(body.join('\n'))}</code></pre>`);
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
    while (i < lines.length && lines[i]!.trim() && !LIST_ITEM.test(lines[i]!) && !/^(#{1,6}\s|\s*>|\s*```|\s*~~~)/.test(lines[i]!)) {
      paragraph.push(lines[i++]!.trim());
    }
    out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
  }
  return out.join('');
}
