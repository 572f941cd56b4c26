import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { navigate, useAsync, useWidth } from "../hooks";
import type { AppContext } from "../App";
import { Empty, ErrorBox, Legend, Panel, Spinner, Toggle, esc } from "../components/common";
import { ScenarioPicker } from "../components/ScenarioPicker";
import { SelectionPanel } from "../components/SelectionPanel";
import { GalleryPair, isGenerative } from "../components/Gallery";
import { paretoFront, TradeoffScatter, type TradeoffPoint } from "../charts/TradeoffScatter";
import {
  AVG_GAP_KEYS, COLOR_A, COLOR_B, COLOR_ORIGINAL, COLOR_RETRAIN, classColor, fmtDate, fmtHparams, fmtMetric, fmtValue, isReference, metricInfo, metricKeys,
  runLabel,
} from "../format";
import { envDifferences, envGroups, envNotes, envSummary, envValue, type EnvGroup } from "../env";
import { axisFor, axisTitle, defaultAxes, distanceKeys, isDistance, type Axis, type Direction } from "../tradeoffAxes";
import type { Run, SeedGroup, SeedInterval, SeedsPayload } from "../types";

type SortKey = "method" | "status" | "hparams" | `m:${string}`;

/** The metrics a ranking over seeds may use: those with a declared better direction (report.BETTER). */
const RANKABLE = ["avg_gap", "ra", "ta", "run_time_s", "speedup_vs_retrain"];

export function methodColors(runs: { method: string }[]): Map<string, string> {
  const names = [...new Set(runs.map((r) => r.method))].filter((m) => m !== "original" && m !== "retrain").sort();
  const map = new Map<string, string>(names.map((m, i) => [m, classColor(i)]));
  map.set("original", COLOR_ORIGINAL);
  map.set("retrain", COLOR_RETRAIN);
  return map;
}

export function ScreenView({ ctx }: { ctx: AppContext }) {
  const { runs, scenario, sid, a, b } = ctx;
  const [filter, setFilter] = useState("");
  const [status, setStatus] = useState<string>("all");
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 } | null>(null);
  const [pin, setPin] = useState(true);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  // the axes picked on this scenario; another scenario starts from its own defaults
  const [picked, setPicked] = useState<{ sid: string | null; x: string | null; y: string | null }>({ sid: null, x: null, y: null });
  const [sizeKey, setSizeKey] = useState("run_time_s");
  const [chartRef, chartWidth] = useWidth<HTMLDivElement>(640);
  const methodsInfo = useAsync(() => api.methods(), []);
  const defaults = useMemo(() => new Map((methodsInfo.data ?? []).map((m) => [m.name, Object.fromEntries(m.params.map((p) => [p.name, p.default]))])), [methodsInfo.data]);

  // results over seeds (GET /api/scenarios/{id}/seeds), reloaded with the runs; shown on request only
  const [mode, setMode] = useState<"seed" | "seeds">("seed");
  const [rankBy, setRankBy] = useState("avg_gap");
  const seedsInfo = useAsync((signal) => (sid && runs ? api.seeds(sid, rankBy, signal) : null), [sid, rankBy, runs]);
  const seedData = seedsInfo.data && sid && seedsInfo.data.scenario_ids.includes(sid) ? seedsInfo.data : null;
  const nSeeds = seedData?.seeds.length ?? 0;
  const overSeeds = mode === "seeds" && nSeeds >= 2;

  const keys = useMemo(() => metricKeys(runs ?? []), [runs]);
  const colors = useMemo(() => methodColors(runs ?? []), [runs]);
  // over seeds, methods run on other seeds only get a colour too (this seed's view keeps its own colours)
  const seedColors = useMemo(() => methodColors([...(runs ?? []), ...(seedData?.groups ?? [])]), [runs, seedData]);
  const numericKeys = keys.filter((k) => k !== "steps" && k !== "samples");
  // metrics with no value in any run (e.g. MIA-Efficacy withheld everywhere): still selectable, labelled
  const emptyKeys = useMemo(() => new Set(keys.filter((k) => !(runs ?? []).some((r) => r.metrics[k] != null))), [keys, runs]);
  const envs = useMemo(() => envGroups(runs ?? []), [runs]);
  const envDiff = useMemo(() => new Map(envs.slice(1).flatMap((g) => g.runs.map((r) => [r.id, g] as [string, EnvGroup]))), [envs]);
  const warnings = useMemo(() => [...new Set((runs ?? []).flatMap((r) => r.warnings ?? []))], [runs]);
  const unusable = scenario?.request_usable === false || (runs ?? []).some((r) => r.request_usable === false);
  const gapKeys = useMemo(() => avgGapKeys(runs ?? []), [runs]);

  const classwise = !!scenario?.forget_classes?.length;
  const distances = useMemo(() => distanceKeys(runs ?? [], keys), [runs, keys]);
  const axisKeys = [...distances, ...numericKeys];
  const defaultXY = defaultAxes(keys, distances, classwise);
  const mine = picked.sid === sid;
  const xKey = mine && picked.x && axisKeys.includes(picked.x) ? picked.x : defaultXY.x;
  const yKey = mine && picked.y && axisKeys.includes(picked.y) ? picked.y : defaultXY.y;
  const setAxis = (which: "x" | "y", key: string) => setPicked({ sid, x: xKey, y: yKey, [which]: key });
  const xAxis = useMemo(() => axisFor(xKey, runs ?? [], classwise), [xKey, runs, classwise]);
  const yAxis = useMemo(() => axisFor(yKey, runs ?? [], classwise), [yKey, runs, classwise]);
  const repeats = useMemo(() => repeatedRuns(runs ?? []), [runs]);

  const rows = useMemo(() => {
    let list = (runs ?? []).slice();
    const q = filter.trim().toLowerCase();
    if (q) list = list.filter((r) => `${r.method} ${fmtHparams(r.hparams)} ${r.id} ${r.status}`.toLowerCase().includes(q));
    if (status !== "all") list = list.filter((r) => r.status === status);
    if (sort) {
      const val = (r: Run): number | string | null => {
        if (sort.key === "method") return r.method;
        if (sort.key === "status") return r.status;
        if (sort.key === "hparams") return fmtHparams(r.hparams);
        return r.metrics[sort.key.slice(2)] ?? null;
      };
      list.sort((p, q2) => {
        const u = val(p);
        const v = val(q2);
        if (u === null && v === null) return 0;
        if (u === null) return 1; // missing values last in both directions
        if (v === null) return -1;
        return (u < v ? -1 : u > v ? 1 : 0) * sort.dir;
      });
    }
    // pinned references keep their order (θ_o, then θ_r) whatever the sort
    if (pin) list = [...(runs ?? []).filter((r) => isReference(r) && list.includes(r)), ...list.filter((r) => !isReference(r))];
    return list;
  }, [runs, filter, status, sort, pin]);

  // First time the table is on screen: benchmarks/bench_ui.py reads this mark (ms since navigation start).
  useEffect(() => {
    if (runs && performance.getEntriesByName("unlearnlab:screen-table").length === 0) performance.mark("unlearnlab:screen-table");
  }, [runs]);

  const points = useMemo<TradeoffPoint[]>(() => {
    const usable = (runs ?? []).filter((r) => r.status === "done" && xAxis.value(r) != null && yAxis.value(r) != null);
    const candidates = usable.filter((r) => !isReference(r));
    const front = new Set(paretoFront(candidates.map((r) => ({ x: xAxis.value(r)!, y: yAxis.value(r)! })),
      xAxis.direction, yAxis.direction).map((i) => candidates[i].id));
    const shown = (axis: Axis, r: Run) => `${axis.label}: ${fmtAxisValue(axis, axis.value(r)!)}`;
    return usable.map((r) => ({
      id: r.id, x: xAxis.value(r)!, y: yAxis.value(r)!,
      size: sizeKey === "none" ? null : (sizeKey === "run_time_s" ? r.run_time_s ?? r.metrics.run_time_s : r.metrics[sizeKey]) ?? null,
      color: colors.get(r.method) ?? "#999", reference: isReference(r) ? (r.method as "original" | "retrain") : null,
      pareto: front.has(r.id),
      tip: `<b>${esc(r.method)}</b> <span class="mono">${r.id}</span>${repeats.has(r.id) ? ` · ${fmtDate(r.created)}` : ""}<br>${esc(fmtHparams(r.hparams)) || "defaults"}<br>`
        + `${esc(shown(xAxis, r))} · ${esc(shown(yAxis, r))}<br>`
        + `time: ${fmtMetric("run_time_s", r.run_time_s)} s${front.has(r.id) ? "<br><b>on the Pareto front</b>" : ""}`,
    }));
  }, [runs, xAxis, yAxis, sizeKey, colors, repeats]);

  const seedPoints = useMemo<TradeoffPoint[]>(() => {
    if (!overSeeds || !seedData) return [];
    const gold = seedData.groups.find((g) => g.method === "retrain");
    // "closer to θ_r" is read against θ_r's mean over the seeds
    const dir = (axis: Axis): Direction => {
      const target = gold?.metrics[axis.key]?.mean;
      return typeof axis.direction === "object" && target != null ? { target } : axis.direction;
    };
    const usable = seedData.groups.map((g) => ({ g, xi: seedValue(xAxis, g), yi: seedValue(yAxis, g) }))
      .filter((u): u is { g: SeedGroup; xi: SeedInterval & { mean: number }; yi: SeedInterval & { mean: number } } => u.xi?.mean != null && u.yi?.mean != null);
    const candidates = usable.filter((u) => !u.g.reference);
    const front = new Set(paretoFront(candidates.map((u) => ({ x: u.xi.mean, y: u.yi.mean })), dir(xAxis), dir(yAxis)).map((i) => candidates[i].g.label));
    const err = (iv: SeedInterval): [number, number] | null => (iv.lo == null || iv.hi == null ? null : [iv.lo, iv.hi]);
    const shown = (axis: Axis, iv: SeedInterval & { mean: number }) => `${axis.label}: ${fmtAxisValue(axis, iv.mean)}`
      + (iv.lo != null && iv.hi != null ? ` [${fmtAxisValue(axis, iv.lo)}, ${fmtAxisValue(axis, iv.hi)}]` : " (no interval)") + ` n=${iv.n}`;
    return usable.map(({ g, xi, yi }) => ({
      id: `seeds:${g.label}`, group: g.label, x: xi.mean, y: yi.mean, xErr: err(xi), yErr: err(yi),
      size: sizeKey === "none" ? null : g.metrics[sizeKey]?.mean ?? null,
      color: seedColors.get(g.method) ?? "#999", reference: g.reference ? (g.method as "original" | "retrain") : null,
      pareto: front.has(g.label),
      tip: `<b>${esc(g.label)}</b> · mean over ${g.done} of ${g.seeds.length} seeds (${esc(g.seeds.join(", "))})<br>`
        + `${esc(shown(xAxis, xi))}<br>${esc(shown(yAxis, yi))}<br>95 % interval of the mean in brackets`
        + `${front.has(g.label) ? "<br><b>on the Pareto front of the means</b>" : ""}`,
    }));
  }, [overSeeds, seedData, xAxis, yAxis, sizeKey, seedColors]);

  const pick = (id: string, which: "A" | "B") => navigate(null, { [which.toLowerCase()]: id, s: sid });
  // over seeds a point is a method's mean: a click picks that method's run on this scenario's seed
  const pickSeeds = (id: string, which: "A" | "B") => {
    const g = seedData?.groups.find((x) => `seeds:${x.label}` === id);
    const run = g && (runs ?? []).find((r) => g.run_ids.includes(r.id) && r.status === "done");
    if (run) pick(run.id, which);
  };
  const onSort = (key: SortKey) => setSort((s) => (s && s.key === key ? (s.dir === 1 ? { key, dir: -1 } : null) : { key, dir: key.startsWith("m:") && metricInfo(key.slice(2)).better === "lower" ? 1 : -1 }));
  const arrow = (key: SortKey) => (sort?.key === key ? (sort.dir === 1 ? " ▲" : " ▼") : "");

  const remove = async (id: string) => {
    setConfirm(null);
    setActionError(null);
    try {
      await api.deleteRun(id);
      if (a === id) navigate(null, { a: null });
      if (b === id) navigate(null, { b: null });
      ctx.reloadRuns();
      ctx.reloadScenarios();
    } catch (err) {
      setActionError(`could not delete run ${id}: ${errorText(err)}`);
    }
  };

  const head = <ScenarioPicker ctx={ctx} />;
  if (ctx.scenariosError) return <>{head}<ErrorBox message={ctx.scenariosError} onRetry={ctx.reloadScenarios} /></>;
  if (ctx.scenarios && ctx.scenarios.length === 0) {
    return <>{head}<Empty>The store has no scenarios yet. Start one in <a href="#/build">Build</a>, or run <code>unlearnlab demo --store …</code>.</Empty></>;
  }
  if (!sid || (!runs && ctx.runsLoading)) return <>{head}<Spinner label="Loading runs…" /></>;
  if (ctx.runsError) return <>{head}<ErrorBox message={ctx.runsError} onRetry={ctx.reloadRuns} /></>;
  if (!runs) return <>{head}<Spinner /></>;

  const notedKeys = keys.filter((k) => runs.some((r) => r.metrics[k] == null && r.metric_notes?.[k]));
  return (
    <>
      {head}
      {(unusable || warnings.length > 0) && (
        <div class={`banner ${unusable ? "bad" : "warn"}`} role="alert" data-warnings data-unusable={unusable ? "true" : undefined}>
          {unusable && <strong>This forget request is unusable: its numbers say nothing about unlearning. </strong>}
          {warnings.length > 0 && <ul>{warnings.map((w) => <li>{w}</li>)}</ul>}
        </div>
      )}
      <EnvironmentBar groups={envs} />
      <SelectionPanel scenario={scenario ?? null} />
      <div class="screen-grid">
        <Panel title={overSeeds && seedData ? `Methods over ${nSeeds} seeds (${seedData.groups.length})` : `Runs (${rows.length} of ${runs.length})`} id="runs"
          help={overSeeds ? "Each method's mean over the stored seeds of this request, with the 95 % interval of the mean" : "Every run of this forget request; θ_o and θ_r are the references"}
          actions={<>
            <Toggle name="seeds" value={overSeeds ? "seeds" : "seed"} onChange={setMode} options={[
              { value: "seed", label: "this seed", title: `The runs of this scenario${scenario ? ` (seed ${scenario.seed})` : ""}` },
              { value: "seeds", label: nSeeds >= 2 ? `over ${nSeeds} seeds` : "over seeds", disabled: nSeeds < 2,
                title: seedsTitle(seedData, seedsInfo.error, seedsInfo.loading) },
            ]} />
            <input type="search" placeholder="Filter method, hyper-parameters, id…" value={filter} aria-label="Filter runs"
              onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
            {!overSeeds && <select aria-label="Status filter" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
              {["all", "done", "failed", "diverged", "cancelled", "running"].map((s) => <option value={s}>{s === "all" ? "any status" : s}</option>)}
            </select>}
            {!overSeeds && <label class="check"><input type="checkbox" checked={pin} onChange={(e) => setPin((e.target as HTMLInputElement).checked)} /> references on top</label>}
          </>}>
          {actionError && <ErrorBox message={actionError} />}
          {overSeeds && seedData ? <SeedsResults data={seedData} filter={filter} colors={seedColors} rankBy={rankBy} onRankBy={setRankBy} /> : <>
          {runs.length === 0 ? <Empty>No runs in this scenario.</Empty> : (
            <div class="table-wrap">
              <table class="runs" data-ready={runs ? "true" : undefined}>
                <thead>
                  <tr>
                    <th class="pick-col" title="Pick model A / model B">A · B</th>
                    <th class="sortable" onClick={() => onSort("method")}>Method{arrow("method")}</th>
                    <th class="sortable" onClick={() => onSort("hparams")}>Hyper-parameters{arrow("hparams")}</th>
                    <th class="sortable" onClick={() => onSort("status")}>Status{arrow("status")}</th>
                    {keys.map((k) => (
                      <th class="sortable num" data-metric={k} onClick={() => onSort(`m:${k}`)}
                        title={metricInfo(k).title + (metricInfo(k).percent ? " (%)" : "") + (k === "avg_gap" && gapKeys.title ? `. ${gapKeys.title}` : "")
                          + (notedKeys.includes(k) ? ". Empty (–) where withheld: hover a cell for the reason" : "")}>
                        {metricInfo(k).label}{arrow(`m:${k}`)}
                        {k === "avg_gap" && gapKeys.label && <span class="th-sub" data-avg-gap-keys>{gapKeys.label}</span>}
                      </th>
                    ))}
                    <th class="actions">Download · delete</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.length === 0 && <tr><td colSpan={keys.length + 5} class="none">No run matches the filter.</td></tr>}
                  {rows.map((r) => (
                    <tr key={r.id} data-run={r.id} data-method={r.method} data-env-differs={envDiff.has(r.id) ? "true" : undefined}
                      data-repeat={repeats.has(r.id) ? `${repeats.get(r.id)!.k}/${repeats.get(r.id)!.n}` : undefined}
                      class={`${isReference(r) ? `ref ref-${r.method}` : ""}${r.id === a ? " is-a" : ""}${r.id === b ? " is-b" : ""}${envDiff.has(r.id) ? " env-differs" : ""}`}>
                      <td class="pick-col">
                        <button type="button" class={`pick pick-a${r.id === a ? " on" : ""}`} disabled={r.status !== "done"}
                          title={r.status === "done" ? "Use as model A" : `${r.status}: only finished runs can be compared`}
                          style={{ "--c": COLOR_A }} onClick={() => pick(r.id, "A")}>A</button>
                        <button type="button" class={`pick pick-b${r.id === b ? " on" : ""}`} disabled={r.status !== "done"}
                          title={r.status === "done" ? "Use as model B" : `${r.status}: only finished runs can be compared`}
                          style={{ "--c": COLOR_B }} onClick={() => pick(r.id, "B")}>B</button>
                      </td>
                      <td class="method">
                        <span class="swatch" style={{ background: colors.get(r.method) }} />
                        {r.method}{r.cached ? <span class="tag" title="Reused from the store's cache">cached</span> : null}
                        {envDiff.has(r.id) && <span class="tag warn env-mark" data-env-mark
                          title={`Computed in another environment than most runs of this scenario; differs in: ${envDiff.get(r.id)!.diff.join(", ")}`}>≠ env</span>}
                        {r.trained_environment && r.environment && <span class="tag warn env-mark" data-trained-elsewhere
                          title={`Weights trained in another environment (from the cache); differs in: ${envDifferences(r.trained_environment as Record<string, unknown>, r.environment as Record<string, unknown>).join(", ")}`}>trained elsewhere</span>}
                        <RunStamp run={r} repeat={repeats.get(r.id)} />
                      </td>
                      <td class="hparams" title={fmtHparams(r.hparams)}><Hparams h={r.hparams} defaults={isReference(r) ? undefined : defaults.get(r.method)} /></td>
                      <td><span class={`status s-${r.status}`} title={r.reason ?? ""}>{r.status}</span></td>
                      {keys.map((k) => <MetricCell run={r} k={k} />)}
                      <td class="actions">
                        <a class="button small" href={api.weightsUrl(r.id)} download title="Weights (safetensors)">weights</a>
                        <a class="button small" href={api.jsonUrl(r.id)} download title="Run record and scenario (JSON)">JSON</a>
                        {confirm === r.id ? (
                          <span class="confirm">
                            delete?
                            <button type="button" class="small danger" onClick={() => remove(r.id)}>yes</button>
                            <button type="button" class="small" onClick={() => setConfirm(null)}>no</button>
                          </span>
                        ) : (
                          <button type="button" class="small ghost" title={r.status === "running" ? "Running: cancel its job first" : "Delete this run and its artifacts"}
                            disabled={r.status === "running"} onClick={() => setConfirm(r.id)}>delete</button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {notedKeys.map((k) => {
            const noted = runs.filter((r) => r.metrics[k] == null && r.metric_notes?.[k]);
            return <p class="note metric-note" data-metric-note={k}><span class="note-mark" aria-hidden="true">i</span> {metricInfo(k).label} withheld for {noted.length} of {runs.length} runs (hover a cell for each reason), e.g. {noted[0].metric_notes![k]}.</p>;
          })}
          </>}
          {isGenerative(scenario) ? <p class="note" data-note="generative">Generative request: a judge classifier reads fixed-seed samples; forget rate and kept accuracy in %, FD (Fréchet distance in the judge's features) lower is better.</p>
          : <p class="note">Accuracies in %. {classwise ? "Class-wise request: TA is over the retained classes; TUA/TRA split the test set." : ""} Privacy: 1 = indistinguishable from θ_r on D_f.</p>}
        </Panel>
        <Panel title="Trade-off" id="tradeoff" help="Forgetting against utility; size by cost; the Pareto front of the methods is outlined"
          actions={<>
            {(["x", "y"] as const).map((which) => (
              <label>{which} <select aria-label={`${which} axis`} value={which === "x" ? xKey : yKey}
                onChange={(e) => setAxis(which, (e.target as HTMLSelectElement).value)}>
                {distances.length > 0 && <optgroup label="distance to θ_r (lower is better)">
                  {distances.map((k) => <option value={k}>{axisFor(k, runs, classwise).label}</option>)}</optgroup>}
                <optgroup label="values">{numericKeys.map((k) => <option value={k}>{axisOption(k, emptyKeys)}</option>)}</optgroup>
              </select></label>
            ))}
            <label>size <select aria-label="point size" value={sizeKey} onChange={(e) => setSizeKey((e.target as HTMLSelectElement).value)}>
              <option value="run_time_s">run time</option>
              {keys.includes("steps") && <option value="steps">steps</option>}
              {keys.includes("samples") && <option value="samples">samples</option>}
              <option value="none">fixed</option></select></label>
          </>}>
          <div ref={chartRef} class="chart-box">
            {overSeeds ? (seedPoints.length === 0 ? <Empty>No method has a mean over seeds on both {xAxis.label} and {yAxis.label}.</Empty> : (
              <TradeoffScatter points={seedPoints} width={chartWidth} xLabel={axisTitle(xAxis)} yLabel={axisTitle(yAxis)}
                xFormat={(v) => fmtAxisValue(xAxis, v)} yFormat={(v) => fmtAxisValue(yAxis, v)}
                xUnit={xAxis.percent || xKey === "privacy_score"} yUnit={yAxis.percent || yKey === "privacy_score"} a={a} b={b} onPick={pickSeeds} onTip={ctx.setTip} />
            )) : points.length === 0 ? <Empty>No finished run has both {xAxis.label} and {yAxis.label}.{" "}
              {[xKey, yKey].map((k) => k.replace(/^d:/, "")).filter((k) => emptyKeys.has(k)).map((k) => {
                const why = runs.find((r) => r.metric_notes?.[k])?.metric_notes?.[k];
                return <span data-empty-axis={k}>{metricInfo(k).label} has no value in any run{why ? `: ${why}` : ""}. </span>;
              })}</Empty> : (
              <TradeoffScatter points={points} width={chartWidth} xLabel={axisTitle(xAxis)} yLabel={axisTitle(yAxis)}
                xFormat={(v) => fmtAxisValue(xAxis, v)} yFormat={(v) => fmtAxisValue(yAxis, v)}
                xUnit={xAxis.percent || xKey === "privacy_score"} yUnit={yAxis.percent || yKey === "privacy_score"} a={a} b={b} onPick={pick} onTip={ctx.setTip} />
            )}
          </div>
          <Legend items={[
            ...[...(overSeeds ? seedColors : colors).entries()].filter(([m]) => !["original", "retrain"].includes(m)
              && (overSeeds ? (seedData?.groups ?? []).some((g) => g.method === m) : runs.some((r) => r.method === m))).map(([m, c]) => ({ label: m, color: c })),
            { label: "θ_o original", color: COLOR_ORIGINAL, shape: "square" as const },
            { label: "θ_r retrain", color: COLOR_RETRAIN, shape: "square" as const },
            { label: overSeeds ? "Pareto front of the means" : "Pareto front", color: "#111", shape: "line" as const },
            ...(overSeeds ? [{ label: "95 % interval of the mean", color: "#555", shape: "line" as const }] : []),
          ]} />
          {overSeeds && <p class="note" data-seeds-note>Each point is a method's mean over seeds {seedData?.seeds.join(", ")}; its bars are the 95 % Student-t interval of that mean on each axis (none with one value). A click picks the method's run on this scenario's seed.</p>}
          <p class="note">Click a point for model A, shift-click (or right-click) for model B. {pickHint(a, b, sid)}</p>
        </Panel>
      </div>
      {isGenerative(scenario) && a && b && runs.some((r) => r.id === a) && runs.some((r) => r.id === b) && <GalleryPair a={a} b={b} runs={runs} />}
    </>
  );
}

/** The run's short id; where the same configuration ran more than once, also when it ran. */
function RunStamp({ run, repeat }: { run: Run; repeat?: { k: number; n: number } }) {
  return (
    <div class="mono dim run-stamp" title={run.id}>
      {run.id.slice(0, 8)}
      {repeat && <><br /><time dateTime={new Date(run.created * 1000).toISOString()} data-run-date
        title={`Run ${repeat.k} of ${repeat.n} with this method and these hyper-parameters, created ${fmtDate(run.created, true)}`}>
        {fmtDate(run.created, true)}</time> <span class="tag" data-repeat-tag>{repeat.k} of {repeat.n}</span></>}
    </div>
  );
}

function axisOption(k: string, empty: Set<string>): string {
  return `${metricInfo(k).label}${empty.has(k) ? " (no values)" : ""}`;
}

/** A metric cell: the value, or "–" with a marked reason where the metric was withheld. */
function MetricCell({ run, k }: { run: Run; k: string }) {
  const v = run.metrics[k];
  const note = v == null ? run.metric_notes?.[k] : undefined;
  if (note) {
    return <td class="num withheld" data-note={k} title={`${metricInfo(k).label} withheld: ${note}`}>–<span class="note-mark" aria-label={`why ${metricInfo(k).label} is empty`}>i</span></td>;
  }
  const title = k === "avg_gap" && run.avg_gap_keys && run.avg_gap_keys.length < AVG_GAP_KEYS.length
    ? `mean over ${run.avg_gap_keys.map((x) => metricInfo(x).label).join(", ")}` : undefined;
  return <td class="num" title={title}>{fmtMetric(k, v)}</td>;
}

/** What the Avg. Gap column averaged: a short label and a tooltip when not all four metrics. */
function avgGapKeys(runs: Run[]): { label: string | null; title: string | null } {
  const lists = [...new Set(runs.filter((r) => r.metrics.avg_gap != null && r.avg_gap_keys).map((r) => r.avg_gap_keys!.join(",")))];
  if (lists.length === 0) return { label: null, title: null };
  const names = (csv: string) => csv.split(",").map((k) => metricInfo(k).label).join(", ");
  if (lists.length === 1) {
    if (lists[0] === AVG_GAP_KEYS.join(",")) return { label: null, title: null };
    // a request with none of UA, RA, TA, MIA (a generative one) averages its own metrics: nothing is left out
    if (!lists[0].split(",").some((k) => AVG_GAP_KEYS.includes(k))) return { label: `of ${names(lists[0])}`, title: `Averages ${names(lists[0])}` };
    const left = AVG_GAP_KEYS.filter((k) => !lists[0].split(",").includes(k)).map((k) => metricInfo(k).label);
    return { label: `of ${names(lists[0])}`, title: `Averages ${names(lists[0])} only (${left.join(", ")} left out: no value)` };
  }
  return { label: "of mixed metrics", title: `Runs average different metrics: ${lists.map(names).map((x) => `{${x}}`).join(" or ")} (hover a cell)` };
}

/** Where this scenario's numbers were computed: one line, and the runs whose environment differs. */
function EnvironmentBar({ groups }: { groups: EnvGroup[] }) {
  if (groups.length === 0) return null;
  const base = groups[0];
  // whose note it is: the shown environment's, or that of the runs marked ≠ env
  const notes = [...new Set(groups.flatMap((g, i) => envNotes(g.env).map((n) => (i === 0 ? n : `runs marked ≠ env (${g.runs.map(runLabel).join(", ")}): ${n}`))))];
  const others = groups.slice(1);
  return (
    <div class="env-bar" data-env>
      <div class="env-line">
        <span class="env-label" title="The environment these runs were computed in (details.environment): versions, device, CPU kernels, threads, data fingerprint">environment</span>
        <span class="mono" data-env-line>{envSummary(base.env)}</span>
        {others.length > 0
          ? <span class="tag warn" data-env-count>{groups.length} environments: {others.reduce((n, g) => n + g.runs.length, 0)} run(s) marked ≠ env differ</span>
          : <span class="dim">all {base.runs.length} runs</span>}
      </div>
      {notes.length > 0 && (
        <div class="banner warn env-notes" role="alert" data-env-notes>
          <ul>{notes.map((n) => <li>{n}</li>)}</ul>
        </div>
      )}
      <details class="env-details" open={others.length > 0} data-env-details>
        <summary>{others.length > 0 ? "Where the environments differ" : "Environment manifest"}</summary>
        {others.map((g) => (
          <div class="env-group" data-env-group={g.id}>
            <div><span class="mono">{envSummary(g.env)}</span> · {g.runs.map((r) => runLabel(r)).join(", ")}</div>
            <table class="env-diff">
              <thead><tr><th>key</th><th>most runs</th><th>these runs</th></tr></thead>
              <tbody>{g.diff.map((k) => <tr data-key={k}><td class="mono">{k}</td><td class="mono">{envValue(base.env, k)}</td><td class="mono">{envValue(g.env, k)}</td></tr>)}</tbody>
            </table>
          </div>
        ))}
        {others.length === 0 && <pre class="env-json">{JSON.stringify(base.env, null, 1)}</pre>}
      </details>
    </div>
  );
}

function fmtAxisValue(a: Axis, v: number): string {
  return a.percent ? String(Math.round(v * 1000) / 10) : String(+v.toPrecision(3));
}

/** Runs of the same method with the same hyper-parameters, more than once in the scenario (rows the
 * table would show alike):
 * each one's position among them (by creation), so the table and tooltips can tell them apart. */
export function repeatedRuns(runs: Run[]): Map<string, { k: number; n: number }> {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const key = JSON.stringify([r.method, Object.entries(r.hparams).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = new Map<string, { k: number; n: number }>();
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    list.slice().sort((p, q) => p.created - q.created).forEach((r, i) => out.set(r.id, { k: i + 1, n: list.length }));
  }
  return out;
}

function pickHint(a: string | null, b: string | null, sid: string | null) {
  if (a && b) return <>Open <a href={`#/contrast?s=${sid}&a=${a}&b=${b}`}>Contrast</a> or <a href={`#/attack?s=${sid}&a=${a}&b=${b}`}>Attack</a>.</>;
  if (a) return <>Pick B to contrast, or open <a href={`#/attack?s=${sid}&a=${a}`}>Attack</a> for A.</>;
  return null;
}

/** Hyper-parameters that differ from the method's defaults first (bold), then the others. */
function Hparams({ h, defaults }: { h: Record<string, unknown>; defaults?: Record<string, unknown> }) {
  const entries = Object.entries(h);
  if (!entries.length) return <>–</>;
  if (!defaults) return <span class="dim">{fmtHparams(h)}</span>;
  const changed = entries.filter(([k, v]) => k in defaults && JSON.stringify(defaults[k]) !== JSON.stringify(v));
  const same = entries.filter((e) => !changed.includes(e));
  return (
    <>
      {changed.map(([k, v]) => <b class="changed">{k}={fmtValue(v)} </b>)}
      {same.length > 0 && <span class="dim">{changed.length ? "· " : "defaults: "}{same.map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ")}</span>}
    </>
  );
}

/** A group's mean and interval on a trade-off axis (a distance axis: each seed measured to its own θ_r). */
function seedValue(axis: Axis, g: SeedGroup): SeedInterval | null {
  return (isDistance(axis.key) ? g.distances[axis.key.slice(2)] : g.metrics[axis.key]) ?? null;
}

/** Why the "over seeds" choice is (not) available. */
function seedsTitle(data: SeedsPayload | null, error: string | null, loading: boolean): string {
  if (data && data.seeds.length >= 2) return `Mean ± 95 % interval of the mean over seeds ${data.seeds.join(", ")} of this request`;
  if (error) return `Results over seeds are not available: ${error}`;
  if (!data) return loading ? "Looking for other seeds of this request…" : "No results over seeds";
  return data.note ?? "Only one seed of this request is stored";
}

/** Over seeds: one row per method and setting (mean ± half-width of its interval, n), then the ranking. */
function SeedsResults({ data, filter, colors, rankBy, onRankBy }: {
  data: SeedsPayload; filter: string; colors: Map<string, string>; rankBy: string; onRankBy: (k: string) => void;
}) {
  const q = filter.trim().toLowerCase();
  const groups = data.groups.filter((g) => !q || `${g.label} ${fmtHparams(g.hparams)} ${g.run_ids.join(" ")}`.toLowerCase().includes(q));
  const keys = data.metrics.filter((k) => data.groups.some((g) => g.metrics[k]?.mean != null));
  const r = data.ranking;
  const level = `${Math.round(data.level * 100)} %`;
  const first = r.ranks.filter((e) => e.rank === 1).map((e) => e.label);
  return (
    <>
      <div class="table-wrap">
        <table class="runs seeds-table" data-seeds={data.seeds.join(",")}>
          <thead>
            <tr>
              <th>Method</th>
              <th>Hyper-parameters</th>
              <th class="num" title="Seeds whose run finished / seeds with a run">Seeds</th>
              {keys.map((k) => <th class="num" data-metric={k} title={`${metricInfo(k).title}: mean over seeds ± half-width of its ${level} interval`}>{metricInfo(k).label}</th>)}
            </tr>
          </thead>
          <tbody>
            {groups.length === 0 && <tr><td colSpan={keys.length + 3} class="none">No method matches the filter.</td></tr>}
            {groups.map((g) => (
              <tr key={g.label} data-group={g.label} data-method={g.method} class={g.reference ? `ref ref-${g.method}` : ""}>
                <td class="method"><span class="swatch" style={{ background: colors.get(g.method) }} />{g.label}</td>
                <td class="hparams dim" title={fmtHparams(g.hparams)}>{fmtHparams(g.hparams) || "–"}</td>
                <td class="num" title={`seeds ${g.seeds.join(", ")}; runs ${g.run_ids.join(", ")}`}>{g.done}/{g.seeds.length}</td>
                {keys.map((k) => <SeedCell k={k} iv={g.metrics[k]} level={level} />)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="ranking" data-ranking data-no-winner={r.no_winner ? "true" : undefined}>
        <label>Ranking by <select aria-label="rank by" value={rankBy} onChange={(e) => onRankBy((e.target as HTMLSelectElement).value)}>
          {RANKABLE.map((k) => <option value={k}>{metricInfo(k).label}</option>)}</select></label>
        {" "}<span class="dim">({r.better} is better; methods whose {level} intervals overlap share a rank)</span>:{" "}
        <b data-ranking-text>{r.text}</b>
        {r.no_winner && <span class="no-winner" data-no-winner-line> No winner: the intervals of {first.join(", ")} overlap; more seeds narrow them.</span>}
        {r.unranked.length > 0 && <span class="dim"> Not ranked (fewer than 2 seeds with {metricInfo(r.rank_by).label}): {r.unranked.join(", ")}.</span>}
      </p>
      <p class="note">Over seeds {data.seeds.join(", ")}: mean ± half-width of the {level} Student-t interval of the mean; n = seeds whose finished run has the value (one value: no interval). θ_o and θ_r are not ranked.</p>
    </>
  );
}

function SeedCell({ k, iv, level }: { k: string; iv: SeedInterval | undefined; level: string }) {
  if (!iv || iv.mean == null) return <td class="num" data-n="0">–</td>;
  const half = iv.lo != null && iv.hi != null ? (iv.hi - iv.lo) / 2 : null;
  const title = half == null ? `one value (n=${iv.n}): no interval`
    : `mean ${fmtMetric(k, iv.mean)}, ${level} interval [${fmtMetric(k, iv.lo)}, ${fmtMetric(k, iv.hi)}], n=${iv.n}`;
  return (
    <td class="num" data-n={iv.n} title={title}>
      {fmtMetric(k, iv.mean)}{half != null && <> ± {fmtMetric(k, half)}</>}<span class="n">n={iv.n}</span>
    </td>
  );
}
