// What the service worker needs to act on a notification from another machine (docs/reach.md, "Notifications."): each
// added machine's origin, its id in this app and this phone's device token there. A worker cannot read localStorage, so
// this copy lives in IndexedDB under this app's origin: written when a machine is added (and at start, for machines kept
// before), removed when it is removed, and cleared when this phone signs out. A push naming an origin not here opens
// the app and posts nothing (build/sw.ts reads the same store).

/** Shared with build/sw.ts, which cannot import this module: keep the three names the same there. */
export const WORKER_DB = 'pocketcoder-worker';
export const WORKER_STORE = 'machines';
const VERSION = 1;

export interface WorkerMachine {
  origin: string;
  id: string;
  token: string;
}

function open(): Promise<IDBDatabase> | null {
  if (typeof indexedDB === 'undefined') return null;
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(WORKER_DB, VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(WORKER_STORE, { keyPath: 'origin' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function write(change: (store: IDBObjectStore) => void): Promise<void> {
  const opening = open();
  if (!opening) return;
  const db = await opening;
  try {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(WORKER_STORE, 'readwrite');
      change(tx.objectStore(WORKER_STORE));
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Keeps exactly these machines for the worker: any origin no longer added is dropped with its token. */
export const keepForWorker = (machines: readonly WorkerMachine[]): Promise<void> =>
  write((store) => {
    store.clear();
    for (const m of machines) store.put({ origin: m.origin, id: m.id, token: m.token });
  }).catch(() => undefined);

export const forgetForWorker = (origin: string): Promise<void> => write((store) => store.delete(origin)).catch(() => undefined);
