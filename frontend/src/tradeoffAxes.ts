// Axes of the Screen's trade-off plot. On a random (non-class-wise) request the goal is θ_r's
// behaviour, not the most forgetting: a model that forgets more than θ_r (UA above θ_r's) has
// over-forgotten, which a membership attacker notices as surely as under-forgetting. There the
// plot defaults to distance-to-θ_r axes (|UA − UA(θ_r)|, lower is better), and on the raw UA and
// MIA-Efficacy axes "better" means closer to θ_r's value. The Pareto front is computed on the axes
// shown, in their direction.

import { metricInfo } from "./format";
import type { Run } from "./types";

/** Metrics whose distance to θ_r's value is offered as an axis. */
export const DISTANCE_BASES = ["ua", "ra", "ra_class_mean", "ta", "tua", "tra", "mia_efficacy"];
/** On a random request, these are best where θ_r is (more forgetting than θ_r is over-forgetting). */
const TOWARD_RETRAIN = new Set(["ua", "mia_efficacy"]);
const PREFIX = "d:";

export type Direction = "higher" | "lower" | { target: number };

export interface Axis {
  key: string;
  label: string;
  /** Accuracy-like fractions: shown in %. */
  percent: boolean;
  /** Which way is better on this axis, on this request. */
  direction: Direction;
  /** The run's value on this axis, or null where it has none. */
  value: (r: Run) => number | null;
}

export const isDistance = (key: string) => key.startsWith(PREFIX);

/** The done θ_r run the distances are measured to (the latest, as the attack uses). */
export function retrainRun(runs: Run[]): Run | null {
  const gold = runs.filter((r) => r.method === "retrain" && r.status === "done");
  return gold.length ? gold[gold.length - 1] : null;
}

export function axisFor(key: string, runs: Run[], classwise: boolean): Axis {
  const gold = retrainRun(runs);
  if (isDistance(key)) {
    const base = key.slice(PREFIX.length);
    const m = metricInfo(base);
    const ref = gold?.metrics[base] ?? null;
    return {
      key, label: `|${m.label} − ${m.label}(θ_r)|`, percent: m.percent, direction: "lower",
      value: (r) => (ref === null || r.metrics[base] == null ? null : Math.abs(r.metrics[base]! - ref)),
    };
  }
  const m = metricInfo(key);
  const ref = gold?.metrics[key] ?? null;
  const direction: Direction = !classwise && TOWARD_RETRAIN.has(key) && ref !== null ? { target: ref }
    : m.better === "lower" ? "lower" : "higher";
  return { key, label: m.label, percent: m.percent, direction, value: (r) => r.metrics[key] ?? null };
}

/** Distance axes these runs can have: a base metric some run has and θ_r has too. */
export function distanceKeys(runs: Run[], keys: string[]): string[] {
  const gold = retrainRun(runs);
  if (!gold) return [];
  return DISTANCE_BASES.filter((k) => keys.includes(k) && gold.metrics[k] != null).map((k) => PREFIX + k);
}

/** Default axes: on a random request the distances of UA and TA to θ_r's; else UA (or privacy) against TA (or RA). */
export function defaultAxes(keys: string[], distances: string[], classwise: boolean): { x: string; y: string } {
  // (no keys yet while the runs load: the usual ones)
  // a generative request has no UA/TA: forgetting is its forget rate, utility its kept accuracy
  const rawX = keys.includes("ua") || !keys.length ? "ua" : keys.includes("privacy_score") ? "privacy_score"
    : keys.includes("forget_rate") ? "forget_rate" : keys[0];
  const rawY = keys.includes("ta") || !keys.length ? "ta" : keys.includes("ra") ? "ra"
    : keys.includes("kept_accuracy") ? "kept_accuracy" : keys[0];
  if (!classwise) {
    return { x: distances.includes(PREFIX + rawX) ? PREFIX + rawX : rawX, y: distances.includes(PREFIX + rawY) ? PREFIX + rawY : rawY };
  }
  return { x: rawX, y: rawY };
}

export function axisTitle(a: Axis): string {
  const better = a.direction === "higher" ? "→ better" : a.direction === "lower" ? (isDistance(a.key) ? "lower is better" : "← better")
    : "closer to θ_r is better";
  return `${a.label}${a.percent ? " (%)" : ""} · ${better}`;
}

/** How well a value does on an axis, higher is better: the front is computed on these. */
export function goodness(d: Direction, v: number): number {
  return d === "higher" ? v : d === "lower" ? -v : -Math.abs(v - d.target);
}
