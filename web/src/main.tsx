import { render } from 'preact';
import { App } from './app';
import { boot } from './store';
import './styles.css';

// The pairing link carries its code in the fragment, which the server never sees; take it and drop it.
const pairCode = /^#pair=([A-Za-z0-9 -]{4,20})$/.exec(location.hash)?.[1];
if (pairCode) history.replaceState(null, '', `/pair?code=${encodeURIComponent(pairCode)}`);

render(<App />, document.getElementById('app')!);
void boot();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => {}));
}
