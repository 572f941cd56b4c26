// Environment manifests (details.environment of every run; unlearnlab.numerics.manifest()): one line
// to read where a number came from, and the keys that differ between two, so that two users can tell
// why their numbers differ.

import type { Environment, Run } from "./types";

/** "torch 2.13.0+cpu · cpu · AMD EPYC · AVX2 kernels (portable) · 1 thread · data 1a2b3c4d5e6f"
 * (the UI's form of numerics.summary()). */
export function envSummary(env: Environment): string {
  const num = env.numerics ?? {};
  const kind = num.portable ? "portable" : num.mode === "portable" ? "portable requested, not in force" : "native";
  const parts = [`torch ${env.versions?.torch ?? "?"}`, env.device ?? "?"];
  if (env.gpu) parts.push(String(env.gpu));
  parts.push(env.cpu ?? "?", `${num.aten_cpu_capability ?? "?"} kernels (${kind})`);
  const threads = env.threads?.torch;
  if (threads !== undefined && threads !== null) parts.push(`${threads} thread${threads === 1 ? "" : "s"}`);
  if (env.data_fingerprint) parts.push(`data ${env.data_fingerprint.slice(0, 12)}`);
  return parts.join(" · ");
}

/** Warnings of a manifest: its own notes, or what its numerics flags say when it has none. */
export function envNotes(env: Environment): string[] {
  const num = env.numerics ?? {};
  const notes = [...(num.notes ?? [])];
  if (notes.length === 0 && num.mode === "portable" && num.portable === false) {
    notes.push("portable numerics were requested but are not in force: these numbers may differ on another CPU");
  }
  if (notes.length === 0 && num.verified === false) {
    notes.push("the portable-numerics check failed on this machine: its bits may differ from other machines'");
  }
  return notes;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Dotted keys whose values differ between two manifests (numerics.differences()). */
export function envDifferences(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const va = a[key];
    const vb = b[key];
    if (isObject(va) && isObject(vb)) out.push(...envDifferences(va, vb, `${prefix}${key}.`));
    else if (JSON.stringify(va) !== JSON.stringify(vb)) out.push(`${prefix}${key}`);
  }
  return out;
}

/** The value at a dotted key, for display. */
export function envValue(env: Environment | null | undefined, dotted: string): string {
  let v: unknown = env;
  for (const part of dotted.split(".")) v = isObject(v) ? v[part] : undefined;
  if (v === undefined) return "(absent)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export interface EnvGroup {
  id: string;
  env: Environment;
  runs: Run[];
  /** Keys that differ from the baseline group's manifest (empty for the baseline). */
  diff: string[];
}

/**
 * The runs' environments, grouped: the baseline first (the environment most runs were computed in;
 * on a tie, θ_o's), then the others with the keys in which they differ from it.
 */
export function envGroups(runs: Run[]): EnvGroup[] {
  const byId = new Map<string, EnvGroup>();
  for (const r of runs) {
    if (!r.environment || !r.environment_id) continue;
    const g = byId.get(r.environment_id) ?? { id: r.environment_id, env: r.environment, runs: [], diff: [] };
    g.runs.push(r);
    byId.set(r.environment_id, g);
  }
  const groups = [...byId.values()];
  if (groups.length === 0) return [];
  const hasOriginal = (g: EnvGroup) => (g.runs.some((r) => r.method === "original") ? 1 : 0);
  groups.sort((p, q) => q.runs.length - p.runs.length || hasOriginal(q) - hasOriginal(p));
  const base = groups[0];
  for (const g of groups.slice(1)) g.diff = envDifferences(base.env as Record<string, unknown>, g.env as Record<string, unknown>);
  return groups;
}
