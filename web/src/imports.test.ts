import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The app's own modules (tests aside) and what each imports of them. */
function moduleGraph(root: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(path);
    }
  };
  walk(root);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const imports: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const base = join(dirname(file), match[1]!);
      const found = ['.ts', '.tsx'].map((ext) => base + ext).find((candidate) => existsSync(candidate));
      if (found) imports.push(found);
    }
    graph.set(file, imports);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>, root: string): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)).join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('the app\'s modules', () => {
  // A circle of imports makes the load order decide what is defined (and keeps rooms from being read on their own):
  // the approval card and the transcript, the folder picker and Home, once imported each other (#51).
  it('import one another in no circle', () => {
    const root = join(dirname(new URL(import.meta.url).pathname));
    expect(cycles(moduleGraph(root), root)).toEqual([]);
  });
});
