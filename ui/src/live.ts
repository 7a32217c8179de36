import { useEffect, useRef, useState } from 'react';

/**
 * The server's live stream (`GET /api/v1/stream`, server-sent events), shared by every page: one
 * connection for the whole tab, opened while someone listens. Events only say what changed; pages
 * refetch through the REST API. When the stream is down (a proxy without streaming, a worker-run playbook
 * this server does not see) pages keep polling, just more slowly while the stream is up.
 */
export interface LiveEvent {
  topic: 'runs' | 'cases' | 'approvals';
  type: string;
  run_id?: string;
  step?: string;
  approval_id?: string;
  case_id?: string;
  status?: string;
}

type Listener = (event: LiveEvent) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<(up: boolean) => void>();
let source: EventSource | undefined;
let up = false;

function setUp(value: boolean): void {
  if (up === value) return;
  up = value;
  for (const l of stateListeners) l(up);
}

function open(): void {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/stream', { withCredentials: true });
  source.addEventListener('ready', () => setUp(true));
  for (const topic of ['runs', 'cases', 'approvals'] as const) {
    source.addEventListener(topic, (message) => {
      let event: LiveEvent;
      try {
        event = JSON.parse((message as MessageEvent<string>).data) as LiveEvent;
      } catch {
        return;
      }
      for (const l of listeners) l(event);
    });
  }
  // EventSource reconnects by itself after a dropped connection; a refused one (401, 403) closes it.
  source.onerror = () => {
    setUp(false);
    if (source?.readyState === EventSource.CLOSED) {
      source = undefined;
      setTimeout(() => {
        if (listeners.size > 0) open();
      }, 10_000);
    }
  };
}

function close(): void {
  source?.close();
  source = undefined;
  setUp(false);
}

/** Calls `onEvent` for live events while mounted; returns whether the stream is connected. */
export function useLive(onEvent: Listener): boolean {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const [connected, setConnected] = useState(up);
  useEffect(() => {
    const listener: Listener = (event) => ref.current(event);
    listeners.add(listener);
    stateListeners.add(setConnected);
    setConnected(up);
    open();
    return () => {
      listeners.delete(listener);
      stateListeners.delete(setConnected);
      if (listeners.size === 0) close();
    };
  }, []);
  return connected;
}

/** A small badge saying whether the page updates live or by polling. */
export function liveLabel(connected: boolean): string {
  return connected ? 'Live' : 'Polling';
}
