// The highlighter is its own chunk, fetched the first time something is coloured (a file, a diff, a code block):
// the first load stays small. A failed fetch (offline) is tried again next time.

export type Highlighter = typeof import('./highlight');
export type Token = { kind: string; text: string };

let highlighter: Promise<Highlighter> | undefined;

export function loadHighlighter(): Promise<Highlighter> {
  highlighter ??= import('./highlight').catch((e: unknown) => {
    highlighter = undefined;
    throw e;
  });
  return highlighter;
}
