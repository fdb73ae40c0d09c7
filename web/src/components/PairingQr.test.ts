import jsQR from 'jsqr';
import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';

/** The modules as an RGBA image (4 px each, a quiet zone of 4 modules), as a camera would see the code on screen. */
function image(data: boolean[][]): { pixels: Uint8ClampedArray; size: number } {
  const scale = 4;
  const quiet = 4;
  const size = (data.length + 2 * quiet) * scale;
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  data.forEach((row, y) => row.forEach((dark, x) => {
    if (!dark) return;
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const at = (((y + quiet) * scale + dy) * size + (x + quiet) * scale + dx) * 4;
        pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
      }
    }
  }));
  return { pixels, size };
}

describe('the pairing QR code', () => {
  it('reads back as the pairing link, code and all', () => {
    const link = 'https://laptop.tail1234.ts.net:7420/#pair=K7PX-9QRM';
    // The options PairingQr draws with.
    const { pixels, size } = image(encode(link, { ecc: 'M', border: 0 }).data);
    expect(jsQR(pixels, size, size)?.data).toBe(link);
  });
});
