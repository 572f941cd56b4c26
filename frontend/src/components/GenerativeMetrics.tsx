import { api } from "../api";
import { useAsync } from "../hooks";
import { COLOR_A, COLOR_B, COLOR_RETRAIN, fmtPct } from "../format";
import { ErrorBox, Panel, Spinner } from "./common";
import type { Run } from "../types";

const fd = (v: number | null | undefined) => (v == null ? "–" : v.toFixed(2));

/** Contrast for a generative request: A's and B's metrics beside θ_r's, with the Fréchet distance of every kept
 *  class (in the judge's features) and its real-vs-real floor, so a class one model draws worse stands out. */
export function GenerativeMetrics({ a, b, runs }: { a: string; b: string; runs: Run[] | null }) {
  const retrainId = runs?.find((r) => r.method === "retrain" && r.status === "done")?.id ?? null;
  const ra = useAsync(() => api.run(a), [a]);
  const rb = useAsync(() => api.run(b), [b]);
  const rr = useAsync(() => (retrainId ? api.run(retrainId) : null), [retrainId]);
  const help = "Forget rate: the share of samples generated for the forgotten class that the judge assigns to it (θ_r near chance). FD: Fréchet distance between generated and real images in the judge's features, lower is better; the floor is two real halves of the class. Read A and B against θ_r.";
  let body;
  if (ra.error || rb.error || rr.error) body = <ErrorBox message={(ra.error ?? rb.error ?? rr.error)!} onRetry={() => { ra.reload(); rb.reload(); rr.reload(); }} />;
  else if (!ra.data || !rb.data || (retrainId && !rr.data)) body = <Spinner label="Loading the runs' metrics…" />;
  else {
    const cols: [string, Run | null, string][] = [[`A: ${ra.data.method}`, ra.data, COLOR_A], [`B: ${rb.data.method}`, rb.data, COLOR_B], ["θ_r", rr.data, COLOR_RETRAIN]];
    const perClass = (r: Run | null) => (r?.details?.fd_class ?? {}) as Record<string, number | null>;
    const floor = (ra.data.details?.fd_floor ?? {}) as Record<string, number | null>;
    const classes = Object.keys(perClass(ra.data)).sort((x, y) => Number(x) - Number(y));
    // Why a distance is missing ("too few samples for a covariance: ..."), said once under the table.
    const notes = [...new Set(cols.flatMap(([, r]) => Object.entries((r?.details?.metric_notes ?? {}) as Record<string, string>)
      .filter(([k]) => k.startsWith("fd")).map(([, v]) => v)))];
    const rows: [string, string, (r: Run | null) => string][] = [
      ["forget_rate", "Forget rate", (r) => fmtPct(r?.metrics.forget_rate)],
      ["kept_accuracy", "Kept-class accuracy", (r) => fmtPct(r?.metrics.kept_accuracy)],
      ["fd_kept", "FD, kept classes", (r) => fd(r?.metrics.fd_kept)],
      ["fd_class_mean", "FD, mean over kept classes", (r) => fd(r?.metrics.fd_class_mean)],
    ];
    body = (
      <><table class="gen-attack-table" data-generative-metrics>
        <thead><tr><th />{cols.map(([label, , color]) => <th style={{ color }}>{label}</th>)}<th>floor</th></tr></thead>
        <tbody>
          {rows.map(([key, label, get]) => <tr data-metric={key}><th>{label}</th>{cols.map(([, r]) => <td>{get(r)}</td>)}<td>{key === "fd_class_mean" ? fd(ra.data!.metrics.fd_floor_mean) : ""}</td></tr>)}
          {classes.map((c) => <tr data-fd-class={c}><th>FD, class {c}</th>{cols.map(([, r]) => <td>{fd(perClass(r)[c])}</td>)}<td>{fd(floor[c])}</td></tr>)}
        </tbody>
      </table>
      {notes.map((n) => <p class="note" data-fd-note>FD not read (–): {n}</p>)}</>
    );
  }
  return <Panel title="Metrics of A and B beside θ_r" id="generative-metrics" help={help}>{body}</Panel>;
}
