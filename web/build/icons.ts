// Draws the app icon (a terminal prompt ">_" on a rounded tile) as PNG at any size, with no image library:
// signed distances give smooth, anti-aliased edges, and zlib packs the pixels.
import { deflateSync } from 'node:zlib';

const INK: [number, number, number] = [15, 23, 32];
const ACCENT: [number, number, number] = [45, 212, 191];

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function segment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function roundedBox(px: number, py: number, half: number, radius: number): number {
  const qx = Math.abs(px) - half + radius, qy = Math.abs(py) - half + radius;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

/** `maskable`: a full-bleed square with the glyph inside the safe zone; otherwise a rounded tile. */
export function iconPng(size: number, maskable = false): Buffer {
  const rows: number[] = [];
  const scale = maskable ? 0.72 : 1;
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < size; x++) {
      // Work in a unit square (0..1) sampled at the pixel centre.
      const u = (x + 0.5) / size, v = (y + 0.5) / size;
      const aa = 1 / size;
      const tile = maskable ? -1 : roundedBox(u - 0.5, v - 0.5, 0.5, 0.2);
      const tileAlpha = Math.max(0, Math.min(1, 0.5 - tile / aa));
      // The glyph, scaled toward the centre for the maskable safe zone.
      const gu = (u - 0.5) / scale + 0.5, gv = (v - 0.5) / scale + 0.5;
      const stroke = 0.075;
      const chevron = Math.min(segment(gu, gv, 0.25, 0.3, 0.47, 0.5), segment(gu, gv, 0.47, 0.5, 0.25, 0.7));
      const underscore = segment(gu, gv, 0.55, 0.7, 0.77, 0.7);
      const glyph = Math.min(chevron, underscore) - stroke / 2;
      const glyphAlpha = Math.max(0, Math.min(1, 0.5 - (glyph * scale) / aa));
      const r = INK[0] + (ACCENT[0] - INK[0]) * glyphAlpha;
      const g = INK[1] + (ACCENT[1] - INK[1]) * glyphAlpha;
      const b = INK[2] + (ACCENT[2] - INK[2]) * glyphAlpha;
      rows.push(Math.round(r), Math.round(g), Math.round(b), Math.round(255 * tileAlpha));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from(rows), { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export const iconSvg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="20" fill="rgb(${INK.join(',')})"/><path d="M25 30 47 50 25 70M55 70h22" fill="none" stroke="rgb(${ACCENT.join(',')})" stroke-width="7.5" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
