// Moving between the files of a review: a horizontal swipe on the diff, or the 44 px buttons beside it.

/**
 * Which way a finger's stroke moves through the files: +1 (to the next file, a stroke to the left), -1 (to the previous
 * one), or 0. Only a clearly sideways stroke counts: at least `min` pixels across and twice as far across as down, so
 * reading (scrolling down) and a long press on a line (comments) never turn the page. A stroke that scrolled a wide
 * line sideways (`scrolled`) was for the line, not the page.
 */
export function swipeStep(dx: number, dy: number, scrolled = false, min = 60): -1 | 0 | 1 {
  if (scrolled || Math.abs(dx) < min || Math.abs(dx) < 2 * Math.abs(dy)) return 0;
  return dx < 0 ? 1 : -1;
}

/** The file shown after a step from `index` among `count` files: stays at the ends (no wrapping round to the other end). */
export function stepFile(index: number, step: -1 | 0 | 1, count: number): number {
  return Math.min(Math.max(0, index + step), Math.max(0, count - 1));
}
