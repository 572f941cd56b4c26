import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { useAsync, useWidth } from "../hooks";
import type { AppContext } from "../App";
import { Empty, ErrorBox, Legend, Panel, Spinner, Toggle, esc } from "../components/common";
import { ScenarioPicker } from "../components/ScenarioPicker";
import { ModelPicker } from "../components/ModelPicker";
import { InputView } from "../components/InputView";
import { GalleryPair, isGenerative, NotForGenerative } from "../components/Gallery";
import { GenerativeMetrics } from "../components/GenerativeMetrics";
import { DiffBars, GroupedBars } from "../charts/Bars";
import { Heatmap } from "../charts/Heatmap";
import { Lines } from "../charts/Lines";
import { Embedding } from "../charts/Embedding";
import { COLOR_A, COLOR_B, COLOR_ORIGINAL, COLOR_RETRAIN, classColor, className, fmtHparams } from "../format";
import { envDifferences, envNotes, envSummary, envValue } from "../env";
import type { Comparison, Environment, Instance, Pair, Run, Split } from "../types";

export const CATEGORY_COLORS: Record<string, string> = {
  "target forgotten": "#1b9e77",
  "not forgotten": "#d95f02",
  "correctly kept": "#9aa7b4",
  "over-forgotten": "#e7298a",
  "already wrong": "#555555",
};

export function ContrastView({ ctx }: { ctx: AppContext }) {
  const { a, b } = ctx;
  const [elapsed, setElapsed] = useState(0);
  const generative = isGenerative(ctx.scenario);
  const cmp = useAsync((signal) => (a && b && ctx.scenario && !generative ? api.compare(a, b, signal) : null), [a, b, generative, !!ctx.scenario]);
  useEffect(() => {
    if (!cmp.loading) return;
    const t0 = Date.now();
    setElapsed(0);
    const timer = setInterval(() => setElapsed(Math.round((Date.now() - t0) / 1000)), 1000);
    return () => clearInterval(timer);
  }, [cmp.loading, a, b]);

  const head = <><ScenarioPicker ctx={ctx} /><ModelPicker ctx={ctx} /></>;
  if (!a || !b) {
    return <>{head}<Empty>Pick model A and model B (in <a href="#/screen">Screen</a>, or above) to contrast them. Either may be θ_o or θ_r.</Empty></>;
  }
  if (generative) {
    return <>{head}<NotForGenerative what="The comparison (per-class accuracy, predictions, CKA, embeddings)" />
      <GenerativeMetrics a={a} b={b} runs={ctx.runs} /><GalleryPair a={a} b={b} runs={ctx.runs} /></>;
  }
  if (cmp.loading) {
    return <>{head}<Spinner label={`Comparing A and B… ${elapsed} s (the first comparison of a pair fits a joint UMAP: up to ~25 s; later ones are cached)`} /></>;
  }
  if (cmp.error) {
    const missing = cmp.raw instanceof ApiError && cmp.raw.missingEndpoint;
    return <>{head}<ErrorBox message={missing ? "this server has no /api/compare endpoint (an older unlearnlab); update it to contrast models" : cmp.error} onRetry={cmp.reload} /></>;
  }
  if (!cmp.data) return <>{head}<Spinner /></>;
  return <>{head}<ContrastBody data={cmp.data} ctx={ctx} /></>;
}

function ContrastBody({ data, ctx }: { data: Comparison; ctx: AppContext }) {
  const [split, setSplit] = useState<Split>("test");
  const [matSplit, setMatSplit] = useState<Split>("test");
  const [matKind, setMatKind] = useState<"confusion" | "mean_softmax">("confusion");
  const [ckaSet, setCkaSet] = useState<"forget" | "retain">("forget");
  const [colorBy, setColorBy] = useState<"class" | "category">("class");
  const [selected, setSelected] = useState<Set<number> | null>(null);
  const [hovered, setHovered] = useState<number | null>(null);
  const [picked, setPicked] = useState<number | null>(null);
  const [clearA, setClearA] = useState(0);
  const [clearB, setClearB] = useState(0);
  const [barsRef, barsWidth] = useWidth<HTMLDivElement>(560);
  const [embRef, embWidth] = useWidth<HTMLDivElement>(800);
  const [ckaRef, ckaWidth] = useWidth<HTMLDivElement>(480);
  const [matRef, matWidth] = useWidth<HTMLDivElement>(560);

  const K = data.scenario.num_classes;
  const labels = useMemo(() => Array.from({ length: K }, (_, k) => data.scenario.class_names?.[k] ?? String(k)), [data]);
  const forgetClasses = useMemo(() => new Set(data.scenario.forget_classes ?? []), [data]);
  const pc = data.per_class[split];
  const barSeries = useMemo(() => [
    { key: "A", label: `A: ${data.models.A.method}`, color: COLOR_A, values: pc.A },
    { key: "B", label: `B: ${data.models.B.method}`, color: COLOR_B, values: pc.B },
  ], [data, split]);

  const emb = data.embedding;
  const instances = data.instances;
  const colorsA = useMemo(() => instances.map((ins, i) => (colorBy === "class" ? classColor(emb.labels[i]) : CATEGORY_COLORS[ins.category_a] ?? "#999")), [data, colorBy]);
  const colorsB = useMemo(() => instances.map((ins, i) => (colorBy === "class" ? classColor(emb.labels[i]) : CATEGORY_COLORS[ins.category_b] ?? "#999")), [data, colorBy]);

  const pairs: { key: Pair; color: string; dash?: string; label: string }[] = [
    { key: "A~B", color: "#333", label: "A ~ B" },
    { key: "A~original", color: COLOR_A, dash: "6 3", label: "A ~ θ_o" },
    { key: "A~retrain", color: COLOR_A, label: "A ~ θ_r" },
    { key: "B~original", color: COLOR_B, dash: "6 3", label: "B ~ θ_o" },
    { key: "B~retrain", color: COLOR_B, label: "B ~ θ_r" },
  ];
  const ckaSeries = pairs.filter((p) => data.cka[ckaSet][p.key]).map((p) => ({ key: p.key, label: p.label, color: p.color, dash: p.dash, values: data.cka[ckaSet][p.key]! }));

  const tipFor = (i: number) => {
    const ins = instances[i];
    return `<b>#${ins.index}</b> · label ${esc(className(ins.label, data.scenario.class_names))}${ins.is_forget ? " · <b>forget</b>" : ""}<br>`
      + `A predicts ${ins.pred_a} (${(ins.prob_a[ins.pred_a] * 100).toFixed(0)} %) · ${ins.category_a}<br>`
      + `B predicts ${ins.pred_b} (${(ins.prob_b[ins.pred_b] * 100).toFixed(0)} %) · ${ins.category_b}`;
  };
  const onHover = (i: number | null, ev?: MouseEvent) => {
    setHovered(i);
    ctx.setTip(i === null || !ev ? null : { x: ev.clientX, y: ev.clientY, html: tipFor(i) + "<div class='hint'>click: show in the instance panel</div>" });
  };
  const byIndex = useMemo(() => new Map(instances.map((ins, i) => [ins.index, i])), [instances]);
  const counts = useMemo(() => {
    const sel = selected;
    const out: Record<string, [number, number]> = {};
    instances.forEach((ins, i) => {
      if (sel && !sel.has(i)) return;
      (out[ins.category_a] ??= [0, 0])[0]++;
      (out[ins.category_b] ??= [0, 0])[1]++;
    });
    return out;
  }, [instances, selected]);

  const embSize = Math.max(220, Math.min(460, Math.floor((embWidth - 24) / 2)));
  const matSize = Math.max(200, Math.min(340, Math.floor((matWidth - 24) / 2)));
  const mA = data.prediction_matrices[matSplit].A[matKind];
  const mB = data.prediction_matrices[matSplit].B[matKind];
  const modelLine = (which: "A" | "B") => {
    const m = data.models[which];
    return <span class="model-ref"><b style={{ color: which === "A" ? COLOR_A : COLOR_B }}>{which}</b> {m.method} <span class="mono dim">{m.run_id}</span> <span class="dim">{fmtHparams(m.hparams)}</span></span>;
  };

  return (
    <div class="contrast-grid">
      <div class="models-line">{modelLine("A")}{modelLine("B")}
        <span class="dim">references: θ_o <span class="mono">{data.models.original.run_id}</span>, θ_r <span class="mono">{data.models.retrain.run_id}</span></span>
        <EnvCompare a={data.models.A.run_id} b={data.models.B.run_id} runs={ctx.runs} />
      </div>
      <Panel title="Per-class accuracy" id="per-class" help="Accuracy of A and B on each class, and B − A"
        actions={<Toggle name="per-class-split" value={split} onChange={setSplit} options={[{ value: "train", label: "train" }, { value: "test", label: "test" }]} />}>
        <div ref={barsRef} class="chart-box">
          <GroupedBars categories={labels} series={barSeries} width={barsWidth} yLabel="accuracy" highlight={forgetClasses} onTip={ctx.setTip} />
          <DiffBars categories={labels} values={pc.diff} width={barsWidth} label="B − A (points)" colorPos={COLOR_B} colorNeg={COLOR_A} highlight={forgetClasses} onTip={ctx.setTip} />
        </div>
        <Legend items={[{ label: `A: ${data.models.A.method}`, color: COLOR_A, shape: "square" }, { label: `B: ${data.models.B.method}`, color: COLOR_B, shape: "square" },
          ...(forgetClasses.size ? [{ label: "forget class", color: "#f3d9d9", shape: "square" as const }] : [])]} />
      </Panel>
      <Panel title="Prediction matrices" id="matrices" help="Row = true class; confusion (row-normalised) or mean softmax"
        actions={<>
          <Toggle name="matrix-split" value={matSplit} onChange={setMatSplit} options={[{ value: "train", label: "train" }, { value: "test", label: "test" }]} />
          <Toggle name="matrix-kind" value={matKind} onChange={setMatKind} options={[{ value: "confusion", label: "confusion" }, { value: "mean_softmax", label: "mean softmax" }]} />
        </>}>
        <div ref={matRef} class="pair">
          <div><div class="sub" style={{ color: COLOR_A }}>A: {data.models.A.method}</div>
            <Heatmap matrix={mA} labels={labels} size={matSize} title={`A ${matKind}`} highlightRows={forgetClasses} onTip={ctx.setTip} /></div>
          <div><div class="sub" style={{ color: COLOR_B }}>B: {data.models.B.method}</div>
            <Heatmap matrix={mB} labels={labels} size={matSize} title={`B ${matKind}`} highlightRows={forgetClasses} onTip={ctx.setTip} /></div>
        </div>
      </Panel>
      <Panel title="Embedding (joint UMAP of penultimate features)" id="embedding"
        help="One UMAP fit for both models: positions are comparable. Brush in one to highlight the same instances in both."
        actions={<>
          <Toggle name="embedding-color" value={colorBy} onChange={setColorBy} label="colour" options={[{ value: "class", label: "class" }, { value: "category", label: "category" }]} />
          {selected && <button type="button" class="small" onClick={() => { setSelected(null); setClearA((t) => t + 1); setClearB((t) => t + 1); }}>clear brush ({selected.size})</button>}
        </>}>
        <div ref={embRef} class="pair">
          <div data-embedding="A"><div class="sub" style={{ color: COLOR_A }}>A: {data.models.A.method}</div>
            <Embedding xy={emb.xy_a} colors={colorsA} isForget={emb.is_forget} size={embSize} title="Embedding of model A"
              selected={selected} hovered={hovered} picked={picked} clearToken={clearA}
              onBrush={(s) => { setSelected(s); setClearB((t) => t + 1); }} onHover={onHover} onPick={setPicked} /></div>
          <div data-embedding="B"><div class="sub" style={{ color: COLOR_B }}>B: {data.models.B.method}</div>
            <Embedding xy={emb.xy_b} colors={colorsB} isForget={emb.is_forget} size={embSize} title="Embedding of model B"
              selected={selected} hovered={hovered} picked={picked} clearToken={clearB}
              onBrush={(s) => { setSelected(s); setClearA((t) => t + 1); }} onHover={onHover} onPick={setPicked} /></div>
        </div>
        <Legend items={colorBy === "class"
          ? [...labels.map((l, k) => ({ label: l, color: classColor(k) })), { label: "forget instance", color: "#000", shape: "ring" as const }]
          : [...Object.entries(CATEGORY_COLORS).map(([c, col]) => ({ label: c, color: col })), { label: "forget instance", color: "#000", shape: "ring" as const }]} />
        <table class="category-counts">
          <thead><tr><th>category{selected ? ` (brushed ${selected.size})` : ` (all ${instances.length})`}</th><th style={{ color: COLOR_A }}>A</th><th style={{ color: COLOR_B }}>B</th></tr></thead>
          <tbody>{Object.keys(CATEGORY_COLORS).map((c) => (
            <tr><td><span class="swatch" style={{ background: CATEGORY_COLORS[c] }} />{c}</td><td class="num">{counts[c]?.[0] ?? 0}</td><td class="num">{counts[c]?.[1] ?? 0}</td></tr>
          ))}</tbody>
        </table>
        <p class="note">Categories compare each model with θ_o: target forgotten (forget instance θ_o got right, now wrong), not forgotten, correctly kept, over-forgotten (retain instance θ_o got right, now wrong), already wrong.</p>
      </Panel>
      <Panel title="Layer-wise similarity (linear CKA)" id="cka" help="Linear CKA between the models' block activations on a fixed sample"
        actions={<Toggle name="cka-set" value={ckaSet} onChange={setCkaSet} options={[{ value: "forget", label: `forget (${data.cka.n.forget})` }, { value: "retain", label: `retain (${data.cka.n.retain})` }]} />}>
        <div ref={ckaRef} class="chart-box">
          {ckaSeries.length === 0 ? <Empty>No CKA values for this set.</Empty>
            : <Lines series={ckaSeries} categories={data.cka.blocks} width={ckaWidth} xLabel="block" yLabel="CKA" yDomain={[0, 1]} onTip={ctx.setTip} />}
        </div>
        <Legend items={pairs.map((p) => ({ label: p.label, color: p.color, shape: "line" as const, dash: p.dash ? "3 2" : undefined }))} />
        <p class="note">Solid: against θ_r (<span style={{ color: COLOR_RETRAIN }}>retrain</span>), dashed: against θ_o (<span style={{ color: COLOR_ORIGINAL }}>original</span>). Close to θ_r on forget data and to θ_o on retain data is what good unlearning looks like.</p>
      </Panel>
      <Panel title="Instance" id="instance" help="Click a point in the embedding, or type an instance's training index"
        actions={<label class="instance-find">training index
          <input type="number" class="short" min={0} aria-label="Instance by training index" placeholder={String(instances[0]?.index ?? "")}
            value={picked === null ? "" : instances[picked].index}
            onInput={(e) => { const v = (e.target as HTMLInputElement).value; const i = byIndex.get(Number(v)); if (v !== "" && i !== undefined) setPicked(i); }} />
          <span class="dim">{instances.filter((x) => x.is_forget).length} forget · {instances.length} shown</span>
        </label>}>
        {picked === null ? <Empty>Click a point in either embedding, or type a training index above, to see its input, label and both models' probabilities.</Empty>
          : <InstancePanel ins={instances[picked]} sid={data.scenario.id} names={data.scenario.class_names ?? null} K={K} />}
      </Panel>
    </div>
  );
}

/** A run's environment manifest: from the scenario's runs when it is one of them, else its own record. */
function useEnvironment(id: string, runs: Run[] | null): Environment | null | undefined {
  const known = runs?.find((r) => r.id === id);
  const fetched = useAsync(() => (known ? null : api.run(id)), [id, !!known]);
  if (known) return known.environment ?? null;
  if (fetched.loading) return undefined;
  return (fetched.data?.details?.environment as Environment | undefined) ?? null;
}

/** A line each for A's and B's environment, flagged (with the differing keys) when they differ. */
function EnvCompare({ a, b, runs }: { a: string; b: string; runs: Run[] | null }) {
  const envA = useEnvironment(a, runs);
  const envB = useEnvironment(b, runs);
  if (envA === undefined || envB === undefined || (!envA && !envB)) return null;
  const diff = envA && envB ? envDifferences(envA as Record<string, unknown>, envB as Record<string, unknown>) : [];
  const notes = [...new Set([...(envA ? envNotes(envA) : []), ...(envB ? envNotes(envB) : [])])];
  const line = (which: "A" | "B", env: Environment | null) => (
    <div class="env-line" data-env-model={which}>
      <b style={{ color: which === "A" ? COLOR_A : COLOR_B }}>{which}</b>{" "}
      <span class="mono">{env ? envSummary(env) : "no environment recorded (an older run)"}</span>
    </div>
  );
  return (
    <div class={`env-compare${diff.length ? " differs" : ""}`} data-env-compare data-env-differs={diff.length ? "true" : "false"}>
      {line("A", envA)}{line("B", envB)}
      {diff.length > 0 && (
        <details class="env-details" data-env-diff>
          <summary><span class="tag warn">≠ env</span> A and B were computed in different environments: {diff.join(", ")}</summary>
          <table class="env-diff"><thead><tr><th>key</th><th>A</th><th>B</th></tr></thead>
            <tbody>{diff.map((k) => <tr><td class="mono">{k}</td><td class="mono">{envValue(envA, k)}</td><td class="mono">{envValue(envB, k)}</td></tr>)}</tbody></table>
        </details>
      )}
      {notes.length > 0 && <div class="banner warn env-notes" data-env-notes><ul>{notes.map((n) => <li>{n}</li>)}</ul></div>}
    </div>
  );
}

function InstancePanel({ ins, sid, names, K }: { ins: Instance; sid: string; names: string[] | null; K: number }) {
  return (
    <div class="instance" data-index={ins.index}>
      <div class="instance-head">
        <InputView sid={sid} index={ins.index} size={120} />
        <dl>
          <dt>training index</dt><dd class="mono">{ins.index}</dd>
          <dt>label</dt><dd>{className(ins.label, names)}</dd>
          <dt>set</dt><dd>{ins.is_forget ? "forget (D_f)" : "retain (D_r)"}</dd>
          <dt style={{ color: COLOR_A }}>A</dt><dd>predicts {className(ins.pred_a, names)} · <span class="cat" style={{ background: CATEGORY_COLORS[ins.category_a] }}>{ins.category_a}</span></dd>
          <dt style={{ color: COLOR_B }}>B</dt><dd>predicts {className(ins.pred_b, names)} · <span class="cat" style={{ background: CATEGORY_COLORS[ins.category_b] }}>{ins.category_b}</span></dd>
        </dl>
      </div>
      <table class="probs">
        <thead><tr><th>class</th><th style={{ color: COLOR_A }}>A</th><th style={{ color: COLOR_B }}>B</th></tr></thead>
        <tbody>
          {Array.from({ length: K }, (_, k) => (
            <tr class={k === ins.label ? "true-class" : ""}>
              <td>{className(k, names)}{k === ins.label ? " ✓" : ""}</td>
              <td><ProbBar p={ins.prob_a[k]} color={COLOR_A} /></td>
              <td><ProbBar p={ins.prob_b[k]} color={COLOR_B} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ProbBar({ p, color }: { p: number; color: string }) {
  return (
    <div class="prob" title={`${(p * 100).toFixed(2)} %`}>
      <div class="prob-fill" style={{ width: `${Math.max(0, Math.min(1, p)) * 100}%`, background: color }} />
      <span>{(p * 100).toFixed(1)}</span>
    </div>
  );
}
