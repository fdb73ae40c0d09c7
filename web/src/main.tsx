import { render } from 'preact';
import { App } from './app';
import { WatchPage } from './screens/Watch';
import { takePairingLink } from './pairing';
import { navigate } from './router';
import { boot, setState } from './store';
import './styles.css';
import './session.css';
import './screens.css';

takePairingLink();
// A pairing link opened where the app is already open changes only the fragment: no page load takes it, this does.
window.addEventListener('hashchange', () => {
  if (takePairingLink()) navigate('/pair', { replace: true });
});

// index.html paints a shell before the script arrives (a header and "Loading…"); the app takes its place.
const root = document.getElementById('app')!;
root.replaceChildren();
// A watch link's page is no paired device: it shows one session and asks nothing else of the server.
if (location.pathname === '/watch') render(<WatchPage />, root);
else {
  render(<App />, root);
  void boot();
}

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => {}));
  // The worker answers the app from its cache at once, so an update shows as a new worker taking over while the old
  // version runs here: the page offers a reload (UpdateBanner). A first install (no worker before) is no update.
  const hadWorker = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (hadWorker) setState({ updateReady: true });
  });
  // A tapped notification, with the app already open: the service worker asks it to show the question.
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent<{ type?: string; url?: unknown }>) => {
    if (event.data?.type === 'open' && typeof event.data.url === 'string' && event.data.url.startsWith('/')) navigate(event.data.url);
  });
}
