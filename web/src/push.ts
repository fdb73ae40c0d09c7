// Web Push on this device: the browser's permission, its subscription to this server's VAPID key, and the server's copy
// of it. Asked for only when the owner taps "Turn on" (never on first load), because a prompt out of context gets "Block".

import { api } from './api';
import { machineApi, setRelay, type Machine } from './machines';

export type PushSupport = 'supported' | 'needs-install' | 'unsupported';

/** iOS only offers Web Push to an app added to the Home Screen; elsewhere it needs a service worker and PushManager. */
export function pushSupport(): PushSupport {
  if (typeof window === 'undefined') return 'unsupported';
  const ios = /iPad|iPhone|iPod/.test(navigator.userAgent);
  const standalone = window.matchMedia?.('(display-mode: standalone)').matches || (navigator as { standalone?: boolean }).standalone === true;
  if (ios && !standalone) return 'needs-install';
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window ? 'supported' : 'unsupported';
}

export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

/** Asks for permission, subscribes (again, if the server's key changed) and hands the subscription to the server. */
export async function enablePush(vapidPublicKey: string): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error(permission === 'denied'
      ? "Notifications are blocked for this site. Allow them in the browser's site settings, then try again."
      : 'Notifications were not allowed.');
  }
  const registration = await navigator.serviceWorker.ready;
  const key = base64UrlToBytes(vapidPublicKey);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await api.subscribeWebPush(subscription.toJSON());
}

export async function disablePush(): Promise<void> {
  const registration = await navigator.serviceWorker?.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe().catch(() => false);
  await api.unsubscribeWebPush();
}

/**
 * "Notify me from this machine": another machine this app added pushes to this browser's subscription through a relay on
 * this app's own machine (docs/reach.md, "Notifications."). The relay is made here (its secret comes once), then handed
 * to that machine with the subscription's keys, so that it encrypts to this browser as this machine does; this machine
 * only signs and passes on what it cannot read. Needs notifications on here first: the subscription is this machine's.
 */
export async function enableMachinePush(machine: Machine): Promise<void> {
  const other = machineApi(machine.id);
  if (!other) throw new Error('That machine is not in this app any more.');
  const registration = await navigator.serviceWorker?.getRegistration();
  const subscription = (await registration?.pushManager.getSubscription())?.toJSON();
  if (!subscription?.keys) throw new Error('Turn on notifications for this machine first (Devices → Notifications): they come through its subscription.');
  const relay = await api.createPushRelay(machine.name);
  try {
    await other.subscribeWebPush({ endpoint: relay.url, keys: subscription.keys, relay: { secret: relay.secret, origin: machine.origin } });
  } catch (e) {
    await api.revokePushRelay(relay.id).catch(() => undefined);
    throw e;
  }
  if (machine.relayId) await api.revokePushRelay(machine.relayId).catch(() => undefined);
  setRelay(machine.id, relay.id);
}

/** Off: that machine forgets the relayed subscription, and the relay here is revoked (either alone would stop it). */
export async function disableMachinePush(machine: Machine): Promise<void> {
  await machineApi(machine.id)?.unsubscribeWebPush().catch(() => undefined);
  if (machine.relayId) await api.revokePushRelay(machine.relayId).catch(() => undefined);
  setRelay(machine.id, undefined);
}

/** Whether that machine notifies this phone (it holds a relayed subscription for this phone's device there). */
export async function machinePushOn(machine: Machine): Promise<boolean> {
  const state = await machineApi(machine.id)?.notifications();
  return !!state?.channels.some((c) => c.kind === 'web_push' && c.relayed);
}

const DECIDED_KEY = 'pocketcoder.decidedHere';
const OFFER_DISMISSED_KEY = 'pocketcoder.pushOfferDismissed';

/** Remembers that this device has answered a question: the moment an offer of notifications makes sense. */
export function rememberDecided(): void {
  try {
    localStorage.setItem(DECIDED_KEY, '1');
  } catch {
    // Storage disabled: the offer never shows; Devices still has the switch.
  }
}

/** Whether Home may offer notifications: push works here, the owner has answered a question here, and has not said "not now". */
export function shouldOfferPush(): boolean {
  try {
    return pushSupport() !== 'unsupported' && localStorage.getItem(DECIDED_KEY) === '1' && localStorage.getItem(OFFER_DISMISSED_KEY) !== '1';
  } catch {
    return false;
  }
}

export function dismissPushOffer(): void {
  try {
    localStorage.setItem(OFFER_DISMISSED_KEY, '1');
  } catch {
    // As above.
  }
}
