import type { RefObject } from 'preact';
import { useLayoutEffect } from 'preact/hooks';

/**
 * Keeps `--composer-h` on the page at the height of the message box shown in `screen` (its `footer.composer`): an approval
 * card's Deny and Allow stick just above it (session.css), however tall the card grows, rather than sliding under it. The
 * box grows with what is typed and attached, and the footer is a different element when the session's state changes what
 * it holds (Resume, stopped, a refusal), so both are followed. Removed with the screen: other screens have no message box.
 */
export function useComposerHeight(screen: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const box = screen.current;
    if (!box || typeof ResizeObserver === 'undefined') return;
    const root = document.documentElement.style;
    let shown: Element | null = null;
    const measure = () => root.setProperty('--composer-h', `${Math.ceil(shown?.getBoundingClientRect().height ?? 0)}px`);
    const sizes = new ResizeObserver(measure);
    const follow = () => {
      const now = box.querySelector(':scope > footer.composer');
      if (now === shown) return;
      if (shown) sizes.unobserve(shown);
      shown = now;
      if (now) sizes.observe(now);
      measure();
    };
    const swaps = new MutationObserver(follow);
    swaps.observe(box, { childList: true });
    follow();
    return () => {
      swaps.disconnect();
      sizes.disconnect();
      root.removeProperty('--composer-h');
    };
  }, [screen]);
}
