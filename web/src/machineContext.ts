// Which machine a piece of the screen belongs to: a card of a call from another machine decides there (its client, its
// reachability), the rest of the app on this one. Provided around an added machine's items (Inbox, Home); absent: this machine.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api, NetworkError, type Api } from './api';
import { machineApi } from './machines';
import { reachable, useStore } from './store';

/** The id of the added machine (machines.ts) the items below came from; null: this machine. */
export const MachineContext = createContext<string | null>(null);

/** The client of the machine these items came from. */
export function useMachineApi(): Api {
  const id = useContext(MachineContext);
  return id === null ? api : machineApi(id) ?? gone;
}

/** A machine removed while its card was on screen: nothing is sent anywhere, least of all to this machine. */
const gone = new Proxy({}, { get: () => () => Promise.reject(new NetworkError('That machine was removed from this app.')) }) as Api;

/** Whether the machine these items came from answers now (its stream up; this machine's: the network and its stream). */
export function useMachineReachable(): boolean {
  const id = useContext(MachineContext);
  return useStore((s) => (id ? s.machines.find((m) => m.machine.id === id)?.status === 'online' : reachable(s)));
}
