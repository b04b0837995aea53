// Data for the views: JSON from the server's view routes, and one Server-Sent Events stream that
// patches the fleet cells and tells the other views when to fetch again.
import { useEffect, useState } from 'preact/hooks';
import type { Access, HostCell, Push, Totals } from './types';

export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) throw new Error(body?.error ?? `HTTP ${r.status}`);
  return body as T;
}

type Listener = (p: Push) => void;
const listeners = new Set<Listener>();
let connected = false;
const statusListeners = new Set<(up: boolean) => void>();

export function startStream(): void {
  const es = new EventSource('/api/events');
  es.addEventListener('push', (ev) => {
    const p = JSON.parse((ev as MessageEvent).data) as Push;
    for (const l of listeners) l(p);
  });
  es.onopen = () => setUp(true);
  es.onerror = () => setUp(false);
}
function setUp(up: boolean) {
  connected = up;
  for (const l of statusListeners) l(up);
}
export function onPush(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
export function useConnected(): boolean {
  const [up, set] = useState(connected);
  useEffect(() => {
    statusListeners.add(set);
    return () => statusListeners.delete(set);
  }, []);
  return up;
}

/**
 * Fetch a view and fetch it again (at most once a second) when a push says one of `kinds` changed.
 */
export function useView<T>(path: string, kinds: string[]): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    let alive = true;
    let pending = false;
    let last = 0;
    let timer: number | undefined;
    const load = () => {
      pending = false;
      last = Date.now();
      getJson<T>(path).then(
        (data) => alive && setState({ data }),
        (e: Error) => alive && setState((s) => ({ data: s.data, error: e.message })),
      );
    };
    load();
    const off = onPush((p) => {
      if (!p.kinds.some((k) => kinds.includes(k)) || pending) return;
      pending = true;
      timer = window.setTimeout(load, Math.max(0, 1000 - (Date.now() - last)));
    });
    return () => {
      alive = false;
      off();
      if (timer) clearTimeout(timer);
    };
  }, [path]);
  return state;
}

export interface FleetState {
  totals: Totals;
  cells: Map<string, HostCell>;
  access: Access;
}
