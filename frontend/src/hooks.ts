import { useEffect, useState } from "preact/hooks";
import { errorText } from "./api";

export interface AsyncState<T> {
  data: T | null;
  error: string | null;
  /** The raw error (an ApiError for API failures), to tell a missing endpoint from a bad id. */
  raw: unknown;
  loading: boolean;
  reload: () => void;
}

/** Load `fn` whenever `deps` change (the previous request is aborted); `fn` returning null loads nothing. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T> | null, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; raw: unknown; loading: boolean }>({
    data: null, error: null, raw: null, loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    const promise = fn(ctrl.signal);
    if (promise === null) {
      setState({ data: null, error: null, raw: null, loading: false });
      return () => ctrl.abort();
    }
    setState((s) => ({ data: s.data, error: null, raw: null, loading: true }));
    promise.then(
      (data) => { if (!ctrl.signal.aborted) setState({ data, error: null, raw: null, loading: false }); },
      (err) => {
        if (ctrl.signal.aborted || (err as Error)?.name === "AbortError") return;
        setState({ data: null, error: errorText(err), raw: err, loading: false });
      },
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

// --- hash routing: #/view?s=SCENARIO&a=RUN&b=RUN ------------------------------------------------
export type View = "build" | "screen" | "contrast" | "attack";
export const VIEWS: View[] = ["build", "screen", "contrast", "attack"];

export interface Route {
  view: View;
  params: Record<string, string>;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?");
  const view = (VIEWS as string[]).includes(path) ? (path as View) : "screen";
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return { view, params };
}

export function hashFor(view: View, params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const key of ["s", "a", "b"]) {
    const v = params[key];
    if (v) q.set(key, v);
  }
  for (const [k, v] of Object.entries(params)) {
    if (!["s", "a", "b"].includes(k) && v) q.set(k, v);
  }
  const qs = q.toString();
  return `#/${view}${qs ? `?${qs}` : ""}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** Change the route's parameters (and view), keeping the others. */
export function navigate(view: View | null, changes: Record<string, string | null | undefined>): void {
  const current = parseHash(location.hash);
  const params: Record<string, string | null | undefined> = { ...current.params, ...changes };
  const next = hashFor(view ?? current.view, params);
  if (next !== location.hash) location.hash = next;
}

/** Width of an element, kept up to date (charts redraw on resize). A callback ref: the element may
 * appear after the first render (charts shown once their data has loaded). */
export function useWidth<T extends HTMLElement>(fallback = 600): [(el: T | null) => void, number] {
  const [el, setEl] = useState<T | null>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    if (!el) return;
    const measure = () => setWidth(Math.max(200, Math.floor(el.getBoundingClientRect().width)));
    measure();
    const ro = new ResizeObserver(() => measure());
    ro.observe(el);
    return () => ro.disconnect();
  }, [el]);
  return [setEl, width];
}
