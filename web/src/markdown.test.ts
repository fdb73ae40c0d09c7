import { describe, expect, it } from 'vitest';
import { diffLines, editPreview } from './diff';
import { renderMarkdown, safeHref, TABLE_LIMITS } from './markdown';

describe('renderMarkdown', () => {
  it('escapes HTML in text: a script tag is shown, never run', () => {
    const html = renderMarkdown('Look: <script>alert(1)</script> and <img src=x onerror=alert(1)>');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('escapes inside code, bold, lists and headings too', () => {
    const html = renderMarkdown('# <b>h</b>\n\n**<i>x</i>** `<a>`\n\n- <svg onload=1>\n\n```\n</code></pre><script>x</script>\n```');
    expect(html).not.toMatch(/<(b|i|a|svg|script)[ >]/i);
    expect(html).toContain('<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;</code></pre>');
  });

  it('cannot break out of a link attribute', () => {
    const html = renderMarkdown('[click](https://example.test/"onmouseover="alert(1))');
    expect(html).not.toMatch(/"\s*onmouseover=/);
    expect(html).not.toMatch(/<a [^>]*onmouseover/);
  });

  it('leaves javascript:, data: and disguised schemes as inert text', () => {
    for (const url of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>x</script>', 'java\tscript:alert(1)', ' javascript:alert(1)', 'vbscript:x', '//evil.test/x']) {
      const html = renderMarkdown(`[x](${url})`);
      expect(html, url).not.toContain('<a ');
      expect(safeHref(url), url).toBeNull();
    }
  });

  it('keeps http(s) links, opening them safely in a new tab', () => {
    const html = renderMarkdown('See [the docs](https://example.test/a?b=1&c=2) or https://example.test/x.');
    expect(html).toContain('<a href="https://example.test/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>');
    expect(html).toContain('<a href="https://example.test/x" target="_blank" rel="noopener noreferrer">https://example.test/x</a>.');
  });

  it('renders the common structure: paragraphs, lists, task boxes, code, emphasis', () => {
    const html = renderMarkdown('Intro *soft* and **loud**.\n\n1. one\n2. two\n\n- [x] done\n- [ ] todo\n\n```ts\nconst a = 1;\n```');
    expect(html).toContain('<p>Intro <em>soft</em> and <strong>loud</strong>.</p>');
    expect(html).toContain('<ol><li>one</li><li>two</li></ol>');
    expect(html).toContain('<li class="task done">');
    expect(html).toContain('<li class="task">');
    expect(html).toContain('<pre data-lang="ts"><code>const a = 1;</code></pre>');
  });

  it('does not read snake_case names as italics', () => {
    expect(renderMarkdown('call old_string and new_string')).toBe('<p>call old_string and new_string</p>');
  });
});

describe('diff', () => {
  it('shows an edit as removed and added lines around the unchanged ones', () => {
    expect(diffLines('a\nb\nc\n', 'a\nB\nc\n')).toEqual([
      { op: ' ', text: 'a' }, { op: '-', text: 'b' }, { op: '+', text: 'B' }, { op: ' ', text: 'c' },
    ]);
  });

  it('previews Edit, MultiEdit and Write inputs', () => {
    expect(editPreview('Edit', { file_path: '/p/x.ts', old_string: 'x', new_string: 'y' })).toMatchObject({ path: '/p/x.ts', lines: [{ op: '-' }, { op: '+' }] });
    expect(editPreview('MultiEdit', { file_path: '/p/x.ts', edits: [{ old_string: 'a', new_string: 'b' }, { old_string: 'c', new_string: 'd' }] })!.lines).toHaveLength(5);
    expect(editPreview('Write', { file_path: '/p/n.txt', content: 'hi\n' })).toMatchObject({ created: true, lines: [{ op: '+', text: 'hi' }] });
    expect(editPreview('Bash', { command: 'ls' })).toBeNull();
  });
});

describe('GFM tables and code blocks', () => {
  it('renders a table with its header, alignment and escaped cells, in a box that scrolls sideways', () => {
    const html = renderMarkdown('Results:\n\n| Name | Count |\n|:-----|------:|\n| `a|b` | **2** |\n| <b>x</b> | 3 | extra |\n| short |');
    expect(html).toContain('<div class="md-table" tabindex="0"><table><thead><tr><th class="al">Name</th><th class="ar">Count</th></tr></thead>');
    expect(html).toContain('<td class="al"><code>a|b</code></td><td class="ar"><strong>2</strong></td>');
    expect(html).toContain('<td class="al">&lt;b&gt;x&lt;/b&gt;</td><td class="ar">3</td></tr>');
    expect(html).toContain('<td class="al">short</td><td class="ar"></td>');
    expect(html).not.toContain('extra');
  });

  it('takes a table straight after a paragraph line, and leaves pipes without a delimiter row as text', () => {
    expect(renderMarkdown('Here:\n| a | b |\n|---|---|\n| 1 | 2 |')).toContain('<p>Here:</p><div class="md-table"');
    expect(renderMarkdown('a | b\nc | d')).toBe('<p>a | b<br>c | d</p>');
  });

  it('gives each code block a copy button', () => {
    expect(renderMarkdown('```ts\nconst a = 1;\n```')).toBe(
      '<div class="code-block"><pre data-lang="ts"><code>const a = 1;</code></pre><button type="button" class="copy-code" aria-label="Copy code">Copy</button></div>');
  });
});

describe('tables from a hostile reply stay cheap', () => {
  // Backtracking over it took 11 s: the test's own time limit is the check.
  it('a delimiter line of 100,000 spaces is judged at once, not backtracked over', () => {
    expect(renderMarkdown(`a|b\n${' '.repeat(100_000)}x`)).not.toContain('<table>');
  }, 3000);

  it('thousands of columns are no table; thousands of rows stop at the cell bound', () => {
    const wide = `${'|'.repeat(3000)}\n${'|-'.repeat(3000)}|\n${'|\n'.repeat(3000)}`;
    expect(renderMarkdown(wide)).not.toContain('<table>');

    const head = `|${' a |'.repeat(TABLE_LIMITS.columns)}\n|${' - |'.repeat(TABLE_LIMITS.columns)}\n`;
    const html = renderMarkdown(head + '| x |\n'.repeat(5000));
    expect(html).toContain('<table>');
    expect(html.split('<tr>').length - 2).toBe(Math.floor(TABLE_LIMITS.cells / TABLE_LIMITS.columns) - 1);
    expect(html.length).toBeLessThan(5_000_000);
  });
});
