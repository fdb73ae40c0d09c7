// Paths, not hashes: the server answers every non-/api path with the shell, and the fragment is kept
// for the pairing link (`#pair=CODE`), which never reaches the server.

import { useEffect, useState } from 'preact/hooks';

export interface Route { path: string; query: URLSearchParams }

const current = (): Route => ({ path: location.pathname, query: new URLSearchParams(location.search) });
const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function back(fallback = '/'): void {
  // history.length is 1 on a deep link opened fresh: going "back" would leave the app.
  if (history.state === null && history.length <= 1) navigate(fallback, { replace: true });
  else history.back();
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
