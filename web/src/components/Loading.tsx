// What the phone shows until the first answers arrive: the same header, "Loading…" and three grey cards that
// index.html paints before the script (its inline style stays in <head>, so these classes are styled with or without
// the app's stylesheet). The app takes the shell's place as soon as its script runs, which on a cached start can be
// before the browser painted anything: were this a bare spinner, the first paint with words in it would wait a whole
// round trip for the API (2 s on Slow 3G). Kept equal to index.html's shell by Loading.test.ts.
export function Loading() {
  return (
    <div class="boot" data-loading>
      <header class="boot-bar"><b>PocketCoder</b></header>
      <main class="boot-main" aria-busy="true"><p>Loading…</p><div class="boot-card" /><div class="boot-card" /><div class="boot-card" /></main>
    </div>
  );
}
