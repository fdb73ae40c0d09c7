/**
 * The pairing link (`/#pair=CODE`) carries its code in the fragment, which browsers never send to a server. The app
 * takes it into memory and rewrites the address to a bare `/pair`, so the code is neither in the history (a reload or
 * the back button cannot resend it) nor ever in a URL the server sees or logs.
 */
let linkedCode: string | null = null;

/** Takes the code from the address's fragment; true when there was one. */
export function takePairingLink(location: Location = window.location, history: History = window.history): boolean {
  const code = /^#pair=([A-Za-z0-9 -]{4,20})$/.exec(location.hash)?.[1];
  if (code) {
    linkedCode = code;
    history.replaceState(null, '', '/pair');
  }
  return code !== undefined;
}

/** The code from the link this page was opened with, if any. */
export function linkedPairingCode(): string | null {
  return linkedCode;
}

/**
 * The command that makes a pairing code on the machine serving this app, as that server says it runs there (`pocketcoder
 * pair` where it is installed as a command, `dotnet …/pocketcoder.dll pair` after the README's `dotnet run`, with
 * `--data` when it serves another data folder): `pocketcoder pair` only until it has said.
 */
export function pairCommand(health: { pairCommand?: string | null } | null | undefined): string {
  return health?.pairCommand?.trim() || 'pocketcoder pair';
}
