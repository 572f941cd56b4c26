import type { AppContext } from "../App";
import { navigate } from "../hooks";
import { COLOR_A, COLOR_B, fmtHparams, fmtMetric } from "../format";

/** Selects for model A and B among the scenario's finished runs (Contrast and Attack). */
export function ModelPicker({ ctx, optionalB, bLabel }: { ctx: AppContext; optionalB?: boolean; bLabel?: string }) {
  const done = (ctx.runs ?? []).filter((r) => r.status === "done");
  const opt = (id: string | null, which: "a" | "b", color: string, label: string) => (
    <label class="model-select" style={{ "--c": color }}>
      <b style={{ color }}>{label}</b>
      <select aria-label={`Model ${which.toUpperCase()}`} value={id ?? ""} data-pick-select={which}
        onChange={(e) => navigate(null, { [which]: (e.target as HTMLSelectElement).value || null, s: ctx.sid })}>
        <option value="">{which === "b" && optionalB ? "none" : "choose a run…"}</option>
        {done.map((r) => (
          <option value={r.id}>
            {r.method} · {r.id.slice(0, 6)} · {r.metrics.forget_rate !== undefined
              ? `forget rate ${fmtMetric("forget_rate", r.metrics.forget_rate)} · kept ${fmtMetric("kept_accuracy", r.metrics.kept_accuracy)}`
              : `UA ${fmtMetric("ua", r.metrics.ua)} · TA ${fmtMetric("ta", r.metrics.ta)}`}
            {fmtHparams(r.hparams) && r.method !== "original" && r.method !== "retrain" ? ` · ${fmtHparams(r.hparams)}` : ""}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="model-bar">
      {opt(ctx.a, "a", COLOR_A, "A")}
      {opt(ctx.b, "b", COLOR_B, bLabel ?? "B")}
      {(ctx.a || ctx.b) && <button type="button" class="small ghost" title="Swap A and B" onClick={() => navigate(null, { a: ctx.b, b: ctx.a })}>swap ⇄</button>}
    </div>
  );
}
