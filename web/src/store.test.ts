// @vitest-environment happy-dom
import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { setState, useStore } from './store';

function Loaded() {
  const loaded = useStore((s) => s.loaded);
  return h('p', null, loaded ? 'ready' : 'loading');
}

describe('useStore', () => {
  it('sees a change made right after the first render, before any effect ran', async () => {
    const root = document.createElement('div');
    render(h(Loaded, null), root);
    // boot() answers this fast on a quick network: straight after render(), in the same task.
    setState({ loaded: true });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(root.textContent).toBe('ready');
  });
});
