import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api';
import { ErrorNote } from '../components/ui';
import { navigate } from '../router';
import { loadHealth, refresh, useStore } from '../store';
import { pairCommand } from '../pairing';

function guessDeviceName(): string {
  const ua = navigator.userAgent;
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return /Mobile/.test(ua) ? 'Android phone' : 'Android tablet';
  if (/Mac OS X/.test(ua)) return 'Mac';
  if (/Windows/.test(ua)) return 'Windows PC';
  if (/Linux/.test(ua)) return 'Linux browser';
  return 'Browser';
}

/** Shows a typed code as XXXX-XXXX, whatever the user typed or pasted. */
export function formatCode(raw: string): string {
  const chars = raw.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 8);
  return chars.length > 4 ? `${chars.slice(0, 4)}-${chars.slice(4)}` : chars;
}

export function Pair({ initialCode }: { initialCode: string }) {
  const [code, setCode] = useState(formatCode(initialCode));
  const [name, setName] = useState(guessDeviceName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Signed out by the server (a revoked device): its words say whom to ask, where a teammate cannot run `pocketcoder pair`.
  const reason = useStore((s) => s.signedOutReason);
  // The server says how it runs on its machine (health needs no pairing): the command named is one that works there.
  const pair = pairCommand(useStore((s) => s.health));
  useEffect(() => void loadHealth(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.pair(code, name.trim());
      await refresh();
      navigate('/', { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'PAIRING_CODE_INVALID'
        ? 'That code is wrong, used or expired. Ask whoever gave it to you for a fresh one (on the computer itself, `' + pair + '` makes one).'
        : describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="page pair">
      <div class="pair-hero">
        <img src="/icon.svg" width="72" height="72" alt="" />
        <h1 class="big">Pair this phone</h1>
        {reason
          ? <p class="warn-note" role="alert" data-testid="signed-out-reason">{reason}</p>
          : <p class="muted">On your computer run <code data-testid="pair-command">{pair}</code>, then scan its QR code or type the code it shows. Invited by an owner? Open their link, or type its code.</p>}
      </div>
      <form class="stack" onSubmit={submit}>
        <label class="field">
          <span>Pairing code</span>
          <input class="code-input" name="code" value={code} placeholder="ABCD-EFGH" autoComplete="one-time-code" autoCapitalize="characters"
            spellcheck={false} inputMode="text" required onInput={(e) => setCode(formatCode((e.target as HTMLInputElement).value))} />
        </label>
        <label class="field">
          <span>Name for this device</span>
          <input name="deviceName" value={name} maxLength={100} required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorNote error={error} />
        <button class="btn primary block" type="submit" disabled={busy || code.replace('-', '').length < 8 || !name.trim()}>
          {busy ? 'Pairing…' : 'Pair'}
        </button>
      </form>
      <p class="fine">The server keeps this phone signed in with a private cookie. Revoke it any time under Devices.</p>
    </main>
  );
}
