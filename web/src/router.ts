// Paths, not hashes: the server answers every non-/api path with the shell, and the fragment is kept
// for the pairing link (`#pair=CODE`), which never reaches the server.

import { useEffect, useState } from 'preact/hooks';

export interface Route { path: string; query: URLSearchParams }

const current = (): Route => ({ path: location.pathname, query: new URLSearchParams(location.search) });
const listeners = new Set<() => void>();

/** How many app screens lie behind this history entry: 0 for the one the app was opened on (a deep link, a reload). */
const depth = (): number => (typeof history.state?.depth === 'number' ? history.state.depth : 0);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState({ depth: depth() }, '', to);
  else history.pushState({ depth: depth() + 1 }, '', to);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

/**
 * Back inside the app: to the previous screen when the app put one behind this one, else up to `fallback` (the screen's
 * parent). The history before a deep link belongs to another site, or to nothing (a blank page): never left for it.
 */
export function back(fallback = '/'): void {
  if (depth() > 0) history.back();
  else navigate(fallback, { replace: true });
}

// Each screen decides its own scroll (the session follows its stream); a restored offset from another screen is wrong.
if (typeof history !== 'undefined') history.scrollRestoration = 'manual';

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    const popped = () => {
      update();
      window.scrollTo(0, 0);
    };
    listeners.add(update);
    window.addEventListener('popstate', popped);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', popped);
    };
  }, []);
  return route;
}

/** `match('/s/:id', '/s/42')` -> `{id: '42'}`, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  if (pattern === '/') return path === '/' ? {} : null;
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const part = p[i]!;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(s[i] ?? '');
    else if (part !== s[i]) return null;
  }
  return params;
}

/** Links that navigate inside the app without a page load. */
export function linkTo(to: string) {
  return {
    href: to,
    onClick: (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
