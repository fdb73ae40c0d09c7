import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { iconPng, iconSvg } from './build/icons';
import { serviceWorker } from './build/sw';

const manifest = {
  name: 'PocketCoder',
  short_name: 'PocketCoder',
  description: 'Steer your coding agents from your phone.',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  orientation: 'portrait',
  background_color: '#0f1115',
  theme_color: '#0f1115',
  icons: [
    { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
    { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
    { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' },
  ],
};

/**
 * Icons, the manifest and the service worker, made during the build (nothing binary is committed). Runs after Vite has
 * written index.html ('post'), so the worker's version covers it too: the worker answers the app's pages from its cache,
 * and a new version of the worker is the only way a changed index.html reaches an installed phone.
 */
function pwa(): Plugin {
  return {
    name: 'pocketcoder-pwa',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const files: Record<string, string | Uint8Array> = {
        'icon.svg': iconSvg,
        'icon-192.png': iconPng(192),
        'icon-512.png': iconPng(512),
        'icon-maskable-512.png': iconPng(512, true),
        'apple-touch-icon.png': iconPng(180, true),
        'manifest.webmanifest': JSON.stringify(manifest, null, 2),
      };
      for (const [fileName, source] of Object.entries(files)) this.emitFile({ type: 'asset', fileName, source });
      const shell = Object.keys(bundle).filter((name) => name.startsWith('assets/')).map((name) => `/${name}`).sort();
      const precache = [...shell, '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/apple-touch-icon.png'];
      const index = bundle['index.html'];
      if (index?.type !== 'asset') throw new Error('pocketcoder-pwa: index.html is not in the bundle yet');
      const version = createHash('sha256').update(precache.join('\n')).update(index.source).digest('hex').slice(0, 12);
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: serviceWorker(version, precache) });
    },
  };
}

/**
 * Brotli and gzip copies of every text file over 1 KB, made once at build time at the highest levels: the server sends
 * them as they are to a browser that accepts them (a 30 KB app instead of 100 KB on the wire), never compressing per request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'pocketcoder-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir.startsWith('/') ? config.build.outDir : join(config.root, config.build.outDir);
    },
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          return statSync(path).isDirectory() ? walk(path) : [path];
        });
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|webmanifest|json)$/.test(file) || statSync(file).size < 1024) continue;
        const source = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(source, { level: 9 }));
      }
    },
  };
}

/**
 * The app's stylesheet moves from <head> to the end of <body>: in <head> it holds back the first paint of index.html's
 * inline shell until it arrives (a whole round trip and more on a slow network); at the end of <body> the shell paints
 * at once, and the app's module script still runs only after the stylesheet has loaded (scripts wait for the
 * stylesheets in the document), so the app never shows unstyled.
 */
function stylesheetAfterShell(): Plugin {
  return {
    name: 'pocketcoder-stylesheet-after-shell',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const links: string[] = [];
        const head = html.replace(/\s*<link rel="stylesheet"[^>]*>/g, (link) => {
          links.push(link.trim());
          return '';
        });
        return links.length === 0 ? html : head.replace(/\s*<\/body>/, `\n    ${links.join('\n    ')}\n  </body>`);
      },
    },
  };
}

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  plugins: [stylesheetAfterShell(), pwa(), precompress()],
  build: {
    outDir: '../src/PocketCoder/wwwroot',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:7420' } },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
