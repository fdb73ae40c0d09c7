import { describe, expect, it } from 'vitest';
import { stepFile, swipeStep } from './filePager';

describe('swipeStep', () => {
  it('turns to the next file on a stroke to the left, the previous on one to the right', () => {
    expect(swipeStep(-120, 10)).toBe(1);
    expect(swipeStep(120, -10)).toBe(-1);
  });
  it('ignores a short stroke, a stroke mostly down (reading), and one that scrolled a wide line', () => {
    expect(swipeStep(-40, 0)).toBe(0);
    expect(swipeStep(-100, 80)).toBe(0);
    expect(swipeStep(-200, 0, true)).toBe(0);
  });
});

describe('stepFile', () => {
  it('moves within the files and stops at either end', () => {
    expect(stepFile(0, 1, 3)).toBe(1);
    expect(stepFile(2, 1, 3)).toBe(2);
    expect(stepFile(0, -1, 3)).toBe(0);
    expect(stepFile(0, 1, 0)).toBe(0);
  });
});
