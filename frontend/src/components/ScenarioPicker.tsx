import type { AppContext } from "../App";
import { navigate } from "../hooks";
import { fmtDate, fmtValue } from "../format";
import type { Scenario } from "../types";

export function scenarioLabel(s: Scenario): string {
  const unusable = s.request_usable === false ? "⚠ unusable · " : "";
  const params = Object.entries(s.dataset_params).filter(([k]) => k !== "seed" && k !== "test_size" && k !== "data_root").map(([k, v]) => `${k}=${fmtValue(v)}`);
  return `${unusable}${s.dataset}${params.length ? `(${params.join(",")})` : ""} · ${s.model} · forget ${s.forget} · seed ${s.seed}`
    + `${s.prune ? ` · pruned ${s.prune}` : ""} · ${s.train?.epochs == null && s.train?.steps != null ? `${s.train.steps} steps` : `${s.train?.epochs ?? "?"} ep`} · ${s.runs} runs`;
}

/** The scenario (forget request) selector shared by Screen, Contrast and Attack. */
export function ScenarioPicker({ ctx }: { ctx: AppContext }) {
  const { scenarios, sid, scenario } = ctx;
  // The scenario shown (from the URL, its runs loaded) is always an option, even before the list of
  // scenarios has caught up with it (a job's new scenario): the select must never show another.
  const list = scenarios?.slice().reverse() ?? [];
  if (sid && scenario && scenario.id === sid && !list.some((s) => s.id === sid)) list.unshift(scenario);
  const unusable = scenario?.request_usable === false;
  return (
    <div class="scenario-bar">
      <label>
        Scenario
        <select aria-label="Scenario" value={sid ?? ""} disabled={list.length === 0}
          onChange={(e) => navigate(null, { s: (e.target as HTMLSelectElement).value, a: null, b: null })}>
          {list.length === 0 && <option value="">loading…</option>}
          {list.map((s) => <option value={s.id} selected={s.id === sid}>{scenarioLabel(s)}</option>)}
        </select>
      </label>
      {unusable && <span class="tag warn unusable" data-unusable title="A run flagged this forget request unusable: see the warnings above the runs">unusable request</span>}
      {scenario && (
        <span class="scenario-facts">
          <span title="Scenario id" class="mono">{scenario.id}</span>
          <span>|D_f| = {scenario.forget_size}{scenario.n_train ? ` of ${scenario.n_train}` : ""}</span>
          {scenario.num_classes ? <span>{scenario.num_classes} classes</span> : null}
          <span title="Training recipe of θ_o and θ_r">train: {Object.entries(scenario.train).map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ")}</span>
          <span>created {fmtDate(scenario.created)}</span>
        </span>
      )}
      <button type="button" class="small ghost" title="Reload scenarios and runs" onClick={() => { ctx.reloadScenarios(); ctx.reloadRuns(); }}>reload</button>
    </div>
  );
}
