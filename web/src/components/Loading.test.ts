// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { Loading } from './Loading';

// The shell index.html paints before the script arrives: the inside of <div id="app">.
function indexShell(): Element {
  const html = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../index.html'), 'utf8');
  const doc = new DOMParser().parseFromString(html, 'text/html');
  return doc.querySelector('[data-boot-shell]')!;
}

/** An element's tags, classes and text, in order: what the two must agree on. */
function outline(element: Element): string[] {
  const out = [`${element.tagName.toLowerCase()}.${element.className}`];
  for (const node of Array.from(element.childNodes)) {
    if (node.nodeType === 3 && node.textContent!.trim()) out.push(`"${node.textContent!.trim()}"`);
    else if (node.nodeType === 1) out.push(...outline(node as Element));
  }
  return out;
}

describe('the loading screen', () => {
  it('has words in it, so that its first paint is a contentful one', () => {
    const root = document.createElement('div');
    render(h(Loading, {}), root);
    expect(root.textContent).toContain('PocketCoder');
    expect(root.textContent).toContain('Loading…');
    expect(root.querySelector('[aria-busy="true"]')).not.toBeNull();
  });

  it('is the shell index.html paints, so the app taking its place changes nothing on screen', () => {
    const root = document.createElement('div');
    render(h(Loading, {}), root);
    const shell = indexShell();
    expect(shell).not.toBeNull();
    expect(outline(root.firstElementChild!)).toEqual(outline(shell));
  });
});
