// A job's server-sent events (GET /api/jobs/{id}/events). The server ends the stream after the
// terminal event; an EventSource left open would reconnect and, without Last-Event-ID, get the
// whole log replayed: every stream here is closed on its terminal event, and a reopened stream
// resumes after the last event seen.

import { api } from "./api";
import type { Job, JobEvent } from "./types";

export const EVENT_TYPES = ["job_queued", "job_started", "references_started", "method_started", "progress", "epoch",
  "cancel_requested", "run_finished", "audit_finished", "attack_finished", "job_done", "job_failed", "job_cancelled"];
export const TERMINAL: Record<string, Job["status"]> = { job_done: "done", job_failed: "failed", job_cancelled: "cancelled" };

export interface JobStream {
  close: () => void;
}

/**
 * Follow job `id` from the event after `after` (-1: from its first). `onEvent` gets each event once,
 * in order (a reconnect that repeats events is filtered by id); the stream closes itself after the
 * terminal event. `onState(open)` reports the connection; `onGone` is called when the browser gives up
 * (an HTTP error such as 404 for a job the server no longer holds, or 204 for one with nothing left).
 */
export function followJob(id: string, after: number, handlers: {
  onEvent: (ev: JobEvent) => void; onState?: (open: boolean) => void; onGone?: () => void;
}): JobStream {
  let last = after;
  let ended = false;
  const es = new EventSource(api.eventsUrl(id, after));
  es.onopen = () => handlers.onState?.(true);
  es.onerror = () => {
    if (ended) return;
    handlers.onState?.(false);
    // CONNECTING: the browser retries by itself, sending Last-Event-ID; CLOSED: it gave up
    if (es.readyState === EventSource.CLOSED) handlers.onGone?.();
  };
  const onMessage = (msg: Event) => {
    if (ended) return;
    const m = msg as MessageEvent;
    let ev: JobEvent;
    try { ev = JSON.parse(m.data); } catch { return; }
    const seq = typeof ev.id === "number" ? ev.id : Number(m.lastEventId);
    if (Number.isFinite(seq)) {
      if (seq <= last) return;
      last = seq;
    }
    if (TERMINAL[ev.type]) {
      ended = true;
      es.close();
    }
    handlers.onEvent(ev);
  };
  for (const type of EVENT_TYPES) es.addEventListener(type, onMessage);
  return { close: () => { ended = true; es.close(); } };
}
