import { schemeTableau10 } from "d3-scale-chromatic";
import type { Run } from "./types";

export interface MetricInfo {
  key: string;
  label: string;
  title: string;
  /** Accuracy-like fractions are shown as percentages. */
  percent: boolean;
  /** Which way is better, for the Pareto front and the sort arrows. */
  better: "higher" | "lower" | "none";
  digits?: number;
}

/** Known metrics in table order; any other metric a run carries is appended with its raw key. */
export const METRICS: MetricInfo[] = [
  { key: "ua", label: "UA", title: "Unlearning accuracy: 1 − accuracy on the forget set D_f", percent: true, better: "higher" },
  { key: "ra", label: "RA", title: "Retain accuracy on D_r", percent: true, better: "higher" },
  { key: "ra_class_mean", label: "RA (cls)", title: "Unweighted mean of per-class retain accuracies (the Comparator's RA)", percent: true, better: "higher" },
  { key: "ta", label: "TA", title: "Test accuracy (over the retained classes in a class-wise request)", percent: true, better: "higher" },
  { key: "tua", label: "TUA", title: "Test unlearning accuracy: 1 − accuracy on forget-class test samples", percent: true, better: "higher" },
  { key: "tra", label: "TRA", title: "Test retain accuracy: accuracy on retained-class test samples", percent: true, better: "higher" },
  { key: "asr", label: "ASR", title: "Backdoor attack success rate: share of triggered test samples not of the target class classified as the target (poisoned requests; near θ_r's = backdoor gone)", percent: true, better: "lower" },
  { key: "mia_efficacy", label: "MIA-Eff.", title: "SalUn's SVC membership-inference efficacy: share of D_f called non-member", percent: true, better: "higher" },
  { key: "privacy_score", label: "Privacy", title: "Comparator worst-case privacy score: 1 − best threshold-attack score (1 = like θ_r)", percent: false, better: "higher", digits: 3 },
  // regression requests (Tarun et al. 2023): errors in the targets' units, R², distance to θ_r, loss MIA
  { key: "forget_mae", label: "F-MAE", title: "Mean absolute error on D_f (θ_r's is what a model that never saw D_f makes)", percent: false, better: "none" },
  { key: "retain_mae", label: "R-MAE", title: "Mean absolute error on D_r", percent: false, better: "lower" },
  { key: "test_mae", label: "T-MAE", title: "Mean absolute error on D_t", percent: false, better: "lower" },
  { key: "test_r2", label: "T-R²", title: "R² on D_t (0 = the mean predictor)", percent: false, better: "higher" },
  { key: "forget_gap", label: "F-Gap", title: "|forget MAE − θ_r's forget MAE| (lower is closer to θ_r)", percent: false, better: "lower" },
  { key: "loss_mia", label: "Loss-MIA", title: "Balanced accuracy of a loss attacker telling D_f from D_t (50 = D_f looks unseen)", percent: true, better: "none" },
  // generative requests (docs/generative.md): a judge classifier reads the samples; FD in its feature space
  { key: "forget_rate", label: "Forget rate", title: "Share of samples generated for the forgotten class(es) that the judge assigns to them (θ_r's is the target)", percent: true, better: "lower" },
  { key: "kept_accuracy", label: "Kept acc.", title: "Share of samples of kept classes that the judge assigns to the intended class", percent: true, better: "higher" },
  { key: "fd_kept", label: "FD kept", title: "Fréchet distance between the judge's features of generated and real held-out images of the kept classes", percent: false, better: "lower", digits: 2 },
  { key: "fd_class_mean", label: "FD (cls)", title: "Mean per-class Fréchet distance over the kept classes", percent: false, better: "lower", digits: 2 },
  { key: "fd_floor_mean", label: "FD floor", title: "Mean per-class FD of n real training images against the same reference (what a perfect generator of n samples scores)", percent: false, better: "none", digits: 2 },
  { key: "judge_accuracy", label: "Judge acc.", title: "The judge classifier's test accuracy (how far its verdicts can be trusted)", percent: true, better: "none" },
  { key: "avg_gap", label: "Avg. Gap", title: "Mean |metric − retrain's| over the run's Avg. Gap metrics (lower is closer to θ_r)", percent: true, better: "lower" },
  { key: "run_time_s", label: "Time (s)", title: "Wall-clock time, every pre-pass included", percent: false, better: "lower", digits: 2 },
  { key: "speedup_vs_retrain", label: "Speed-up", title: "Retrain time / this run's time", percent: false, better: "higher", digits: 1 },
  { key: "steps", label: "Steps", title: "Gradient steps (hardware-free cost)", percent: false, better: "lower", digits: 0 },
  { key: "samples", label: "Samples", title: "Samples processed (hardware-free cost)", percent: false, better: "lower", digits: 0 },
];

export const METRIC_BY_KEY: Record<string, MetricInfo> = Object.fromEntries(METRICS.map((m) => [m.key, m]));

export function metricInfo(key: string): MetricInfo {
  return METRIC_BY_KEY[key] ?? { key, label: key, title: key, percent: false, better: "none", digits: 3 };
}

/** The metrics Avg. Gap averages when all are available. */
export const AVG_GAP_KEYS = ["ua", "ra", "ta", "mia_efficacy"];

/** Metric keys of these runs: known ones in order, then the others alphabetically. */
export function metricKeys(runs: Run[]): string[] {
  const seen = new Set<string>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.metrics)) if (v !== null && v !== undefined) seen.add(k);
    // a metric withheld with a reason keeps its column (the cells say why it is empty)
    for (const k of Object.keys(r.metric_notes ?? {})) if (k in r.metrics) seen.add(k);
  }
  const known = METRICS.map((m) => m.key).filter((k) => seen.has(k));
  const rest = [...seen].filter((k) => !METRIC_BY_KEY[k]).sort();
  return [...known, ...rest];
}

export function fmtMetric(key: string, value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const m = metricInfo(key);
  if (m.percent) return (value * 100).toFixed(2);
  if (key === "speedup_vs_retrain") return `${value.toFixed(1)}x`;
  return value.toFixed(m.digits ?? 3);
}

export function fmtNum(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toFixed(digits);
}

export function fmtPct(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return `${(value * 100).toFixed(digits)} %`;
}

export function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

export function fmtDate(t: number | null | undefined, seconds = false): string {
  if (!t) return "–";
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}${seconds ? `:${p(d.getSeconds())}` : ""}`;
}

export function fmtValue(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(+v.toPrecision(4));
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** "lr=0.01, epochs=5" (only what differs from `defaults` when given). */
export function fmtHparams(h: Record<string, unknown>, defaults?: Record<string, unknown>): string {
  const parts = Object.entries(h)
    .filter(([k, v]) => !defaults || JSON.stringify(defaults[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}=${fmtValue(v)}`);
  return parts.join(", ");
}

export const REFERENCES = ["original", "retrain"];
export const isReference = (r: { method: string }) => REFERENCES.includes(r.method);

/** Display name of a run: "ft #a1b2" style, unique enough in a table of one scenario. */
export function runLabel(r: { method: string; id?: string; run_id?: string }): string {
  const id = r.id ?? r.run_id ?? "";
  return `${r.method} · ${id.slice(0, 6)}`;
}

export const COLOR_A = "#1b7f5f";
export const COLOR_B = "#7b3fa0";
export const COLOR_ORIGINAL = "#777777";
export const COLOR_RETRAIN = "#c0392b";

const CLASS_COLORS = [...schemeTableau10];
export function classColor(k: number): string {
  if (k < CLASS_COLORS.length) return CLASS_COLORS[k];
  const hue = (k * 137.508) % 360;
  return `hsl(${hue.toFixed(0)}, 55%, 50%)`;
}

export function className(k: number | null | undefined, names?: string[] | null): string {
  if (k === null || k === undefined) return "–";
  return names && names[k] !== undefined && names[k] !== String(k) ? `${k} (${names[k]})` : String(k);
}
