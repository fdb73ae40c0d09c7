import { render } from 'preact';
import { App } from './app';
import { takePairingLink } from './pairing';
import { boot } from './store';
import './styles.css';

takePairingLink();

render(<App />, document.getElementById('app')!);
void boot();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => {}));
}
