import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { interpolateRdYlGn } from "d3-scale-chromatic";
import { api, ApiError, errorText } from "../api";
import { followJob, TERMINAL } from "../jobEvents";
import { useAsync, useWidth } from "../hooks";
import type { AppContext } from "../App";
import { Empty, ErrorBox, Legend, Panel, Spinner, Toggle } from "../components/common";
import { ScenarioPicker } from "../components/ScenarioPicker";
import { ModelPicker } from "../components/ModelPicker";
import { isGenerative } from "../components/Gallery";
import { GenerativeAttackPanel } from "../components/GenerativeAttack";
import { InputView, drawInput, loadInputs, type InputSample } from "../components/InputView";
import { Lines } from "../charts/Lines";
import { Histogram } from "../charts/Histogram";
import { COLOR_A, COLOR_RETRAIN, fmtNum, fmtPct } from "../format";
import type { AttackCurve, AttackResult, AttackSample, Audit, AuditSamples, Stat } from "../types";

type Strategy = "max_attack_score" | "max_success_rate" | "common_threshold" | "custom";
const STRATEGY_LABEL: Record<Strategy, string> = {
  max_attack_score: "max attack score",
  max_success_rate: "max success rate",
  common_threshold: "common threshold (A & B)",
  custom: "custom",
};
export const riskColor = (r: number) => interpolateRdYlGn(1 - Math.max(0, Math.min(1, r)));

export function AttackView({ ctx }: { ctx: AppContext }) {
  const { a, b } = ctx;
  const [feature, setFeature] = useState<"entropy" | "confidence">("entropy");
  const generative = isGenerative(ctx.scenario);
  const res = useAsync((signal) => (a && ctx.scenario && !generative ? api.attack(a, feature, b && b !== a ? b : null, signal) : null), [a, b, feature, generative, !!ctx.scenario]);
  const head = <><ScenarioPicker ctx={ctx} /><ModelPicker ctx={ctx} optionalB bLabel={generative ? "B (not used by the generative attacks)" : "B (optional: common threshold)"} /></>;
  if (generative) {
    const run = ctx.runs?.find((r) => r.id === a);
    if (!a || !run) return <>{head}<Empty>Pick model A (the unlearned generator to attack) in <a href="#/screen">Screen</a> or above.</Empty></>;
    return <>{head}<p class="note" data-note="generative">A generative request: the threshold attack on class probabilities does not apply; the attacks below try to make A generate the forgotten class again.</p>
      <GenerativeAttackPanel key={a} runId={a} method={run.method} /></>;
  }
  if (!a) return <>{head}<Empty>Pick model A (the unlearned model to attack) in <a href="#/screen">Screen</a> or above. Model B, if picked, adds the common-threshold strategy.</Empty></>;
  const toolbar = (
    <div class="toolbar">
      <Toggle name="feature" label="feature" value={feature} onChange={setFeature} options={[
        { value: "entropy", label: "entropy", title: "Entropy of softmax(z / T)" },
        { value: "confidence", label: "confidence", title: "log p_max − log(1 − p_max)" },
      ]} />
    </div>
  );
  if (res.loading && !res.data) return <>{head}{toolbar}<Spinner label="Attacking…" /></>;
  if (res.error) {
    const missing = res.raw instanceof ApiError && res.raw.missingEndpoint;
    return <>{head}{toolbar}<ErrorBox message={missing ? "this server has no attack endpoint" : res.error} onRetry={res.reload} /></>;
  }
  if (!res.data) return <>{head}{toolbar}<Spinner /></>;
  return <>{head}{toolbar}<AttackBody key={`${res.data.run_id}-${res.data.feature}-${res.data.compare_run_id ?? ""}`} data={res.data} ctx={ctx} loading={res.loading} /></>;
}

function AttackBody({ data, ctx, loading }: { data: AttackResult; ctx: AppContext; loading: boolean }) {
  const runA = ctx.runs?.find((r) => r.id === data.run_id);
  // poisoned requests: the backdoor's success on A beside θ_r's (where the trigger was never learned)
  const retrainRun = ctx.runs?.find((r) => r.method === "retrain" && r.status === "done");
  const asrA = runA?.metrics.asr;
  const runB = ctx.runs?.find((r) => r.id === data.compare_run_id);
  const initial = data.strategies.find((s) => s.strategy === "max_attack_score") ?? data.strategies[0];
  const [strategy, setStrategy] = useState<Strategy>("max_attack_score");
  const [positive, setPositive] = useState<"unlearn" | "retrain">(initial?.positive ?? "unlearn");
  const curve: AttackCurve = data.curves.find((c) => c.positive === positive) ?? data.curves[0];
  const nearest = (c: AttackCurve, t: number) => c.thresholds.reduce((best, v, i) => (Math.abs(v - t) < Math.abs(c.thresholds[best] - t) ? i : best), 0);
  const [index, setIndex] = useState(() => (initial ? nearest(curve, initial.threshold) : 0));
  const [grouped, setGrouped] = useState(true);
  const [pickedPos, setPickedPos] = useState<number | null>(null);
  const [curvesRef, curvesWidth] = useWidth<HTMLDivElement>(560);
  const [histRef, histWidth] = useWidth<HTMLDivElement>(560);

  const choose = (s: Strategy) => {
    setStrategy(s);
    const st = data.strategies.find((x) => x.strategy === s);
    if (!st) return;
    setPositive(st.positive);
    const c = data.curves.find((x) => x.positive === st.positive) ?? data.curves[0];
    setIndex(nearest(c, st.threshold));
  };
  const threshold = curve.thresholds[index];
  // attacked = θ_u's output on this sample is called "unlearned" at the current threshold
  const attacked = (s: AttackSample) => (positive === "unlearn" ? s.value >= threshold : s.value < threshold);
  const picked = pickedPos === null ? null : data.samples[pickedPos];
  const featureLabel = data.feature === "entropy" ? `entropy of softmax(z/${data.temperature})` : "confidence log p − log(1 − p)";

  const series = useMemo(() => [
    { key: "attack_score", label: "attack score", color: "#c0392b", values: curve.attack_score },
    { key: "fpr", label: "FPR", color: "#2f5d8a", values: curve.fpr },
    { key: "fnr", label: "FNR", color: "#e69f00", values: curve.fnr },
    { key: "success_rate", label: "success rate", color: "#555", values: curve.success_rate, dash: "5 3" },
  ], [curve]);
  const values = useMemo(() => data.samples.map((s) => s.value), [data]);
  const retrainValues = useMemo(() => data.samples.map((s) => s.retrain_value), [data]);
  const hasCommon = data.strategies.some((s) => s.strategy === "common_threshold");
  // The verdict is read from the numbers on the cards: calling A's outputs "unlearned" is evidence
  // only when θ_r's own outputs are called so less often, i.e. when the attack score at θ is above 0.
  const scoreAt = curve.attack_score[index];
  const evidence = scoreAt > 0;
  const calledA = data.samples.filter(attacked).length;
  const calledR = positive === "unlearn" ? curve.fpr[index] : curve.fnr[index];
  const common = data.strategies.find((s) => s.strategy === "common_threshold");

  return (
    <div class="attack-grid">
      <div class="summary-cards">
        <Card label="privacy score (both features)" value={fmtNum(data.privacy_score, 3)} title="1 − the best attack score over entropy and confidence; 1 = indistinguishable from θ_r" />
        {asrA !== undefined && asrA !== null && (
          <Card label="backdoor ASR: A · θ_r" value={`${fmtPct(asrA)} · ${fmtPct(retrainRun?.metrics.asr)}`}
            title="Attack success rate of the poison's trigger on test samples not of its target class: A's, then θ_r's (retrained without the forgotten poisoned samples)" />
        )}
        <Card label={`best attack score (${data.feature})`} value={fmtNum(data.feature_best_score, 3)} />
        <Card label="threshold θ" value={fmtNum(threshold, 3)} />
        <Card label="attack score at θ" value={fmtNum(curve.attack_score[index], 3)} />
        <Card label="success rate at θ" value={fmtPct(curve.success_rate[index])} />
        <Card label="FPR · FNR at θ" value={`${fmtPct(curve.fpr[index])} · ${fmtPct(curve.fnr[index])}`} />
        {loading && <span class="dim">updating…</span>}
      </div>
      <AttackVerdict data={data} score={scoreAt} calledA={calledA} calledR={calledR} method={runA?.method ?? null} />
      <Panel title="Threshold attack" id="attack-curves" help="The attacker tells θ_u's outputs on D_f from θ_r's with one threshold on the feature"
        actions={<>
          <Toggle name="strategy" label="strategy" value={strategy} onChange={choose} options={(["max_attack_score", "max_success_rate", "common_threshold", "custom"] as Strategy[]).map((s) => ({
            value: s, label: STRATEGY_LABEL[s], disabled: s === "common_threshold" && !hasCommon,
            title: s === "common_threshold" && !hasCommon ? "Pick a model B to attack A and B with one threshold" : undefined,
          }))} />
        </>}>
        <div class="toolbar">
          <Toggle name="direction" label="attacker calls unlearned when" value={positive} onChange={(p) => { setPositive(p); setStrategy("custom"); }} options={[
            { value: "unlearn", label: "feature ≥ θ" }, { value: "retrain", label: "feature < θ" },
          ]} />
          <label class="slider">custom θ
            <input type="range" min={0} max={curve.thresholds.length - 1} step={1} value={index} aria-label="Custom threshold"
              onInput={(e) => { setIndex(Number((e.target as HTMLInputElement).value)); setStrategy("custom"); }} />
            <span class="mono">{fmtNum(threshold, 3)}</span>
          </label>
        </div>
        <div ref={curvesRef} class="chart-box">
          <Lines series={series} xs={curve.thresholds} width={curvesWidth} height={250} xLabel={`threshold on ${featureLabel}`} yLabel="rate / score"
            yDomain={[0, 1]} marker={index} markerLabel={STRATEGY_LABEL[strategy]} onPickX={(i) => { setIndex(i); setStrategy("custom"); }} onTip={ctx.setTip} />
        </div>
        <Legend items={series.map((s) => ({ label: s.label, color: s.color, shape: "line" as const, dash: s.dash ? "3 2" : undefined }))} />
        {common && (
          <p class="note">Common threshold {fmtNum(common.threshold, 3)}: attack score on A {fmtNum(common.attack_score, 3)}, on B ({runB?.method ?? data.compare_run_id}) {fmtNum(common.other_attack_score ?? null, 3)}.</p>
        )}
        <div ref={histRef} class="chart-box">
          <Histogram a={values} b={retrainValues} labelA={`A: ${runA?.method ?? data.run_id}`} labelB="θ_r (retrain)" colorA={COLOR_A} colorB={COLOR_RETRAIN}
            range={data.range} threshold={threshold} width={histWidth} height={190} xLabel={featureLabel} onTip={ctx.setTip} />
        </div>
        <Legend items={[{ label: `A: ${runA?.method ?? data.run_id} on D_f`, color: COLOR_A, shape: "square" }, { label: "θ_r on D_f", color: COLOR_RETRAIN, shape: "square" }]} />
      </Panel>
      <Panel title={`Forget samples (${data.samples.length})`} id="samples" help="Colour: risk (where θ_u's value sits in θ_r's distribution, read in the best attack's direction)"
        actions={<label class="check"><input type="checkbox" checked={grouped} onChange={(e) => setGrouped((e.target as HTMLInputElement).checked)} /> split by attack outcome at θ</label>}>
        <SampleGrids samples={data.samples} sid={ctx.sid} grouped={grouped} attacked={attacked} evidence={evidence} picked={pickedPos} onPick={setPickedPos} />
        <div class="risk-legend"><span>risk 0</span><div class="ramp" />{" "}<span>1</span><span class="dim"> · 0.5 is typical of θ_r; outlined: called “unlearned” at θ</span></div>
      </Panel>
      <Panel title="Sample" id="sample-detail">
        {picked === null ? <Empty>Click a forget sample to see its statistics.</Empty>
          : <SampleDetail s={picked} sid={ctx.sid} attacked={attacked(picked)} evidence={evidence} featureLabel={featureLabel} runId={data.run_id} />}
      </Panel>
      <AuditPanel runId={data.run_id} method={runA?.method ?? ""} onTip={ctx.setTip} />
    </div>
  );
}

/** What the attack at θ shows, in the terms of the cards: A's outputs called unlearned against θ_r's. */
function AttackVerdict({ data, score, calledA, calledR, method }: { data: AttackResult; score: number; calledA: number; calledR: number; method: string | null }) {
  const n = data.samples.length;
  if (data.run_id === data.retrain_run_id) {
    return (
      <p class="verdict-line none" data-attack-verdict="self">
        <b>A is θ_r itself</b> (run {data.run_id}, the retrained model every attack here is measured against): both sides of the
        attack are the same outputs, so no threshold can tell them apart. The attack score is 0 at every θ and the privacy score 1:
        the baseline a perfect unlearner would match. Pick an unlearned model as A to attack it.
      </p>
    );
  }
  const who = method ? `A (${method})` : "A";
  if (score <= 0) {
    return (
      <p class="verdict-line none" data-attack-verdict="no-evidence">
        <b>No evidence at θ</b> (attack score {fmtNum(score, 3)}): the attacker calls {calledA} of {n} of {who}'s forget outputs
        “unlearned”, and {fmtPct(calledR)} of θ_r's own outputs too; calls that do not separate the two expose nothing.
      </p>
    );
  }
  return (
    <p class="verdict-line bad" data-attack-verdict="exposed">
      <b>The attack tells {who} from θ_r at θ</b> (attack score {fmtNum(score, 3)}): it calls {calledA} of {n} of {who}'s forget
      outputs “unlearned” ({fmtPct(n ? calledA / n : null)}) against {fmtPct(calledR)} of θ_r's.
    </p>
  );
}

function Card({ label, value, title }: { label: string; value: string; title?: string }) {
  return <div class="card" title={title}><div class="card-value">{value}</div><div class="card-label">{label}</div></div>;
}

const THUMBS_MAX = 512;

function SampleGrids({ samples, sid, grouped, attacked, evidence, picked, onPick }: {
  samples: AttackSample[]; sid: string | null; grouped: boolean; attacked: (s: AttackSample) => boolean; evidence: boolean;
  picked: number | null; onPick: (pos: number) => void;
}) {
  const [thumbs, setThumbs] = useState<Map<number, InputSample> | null>(null);
  useEffect(() => {
    const idx = samples.slice(0, THUMBS_MAX).map((s) => s.index).filter((i): i is number => i !== null);
    if (!sid || idx.length === 0) return;
    const ctrl = new AbortController();
    loadInputs(sid, idx, ctrl.signal).then((m) => { if (!ctrl.signal.aborted) setThumbs(m); }, () => undefined);
    return () => ctrl.abort();
  }, [samples, sid]);
  const sorted = useMemo(() => samples.slice().sort((p, q) => q.risk - p.risk || p.position - q.position), [samples]);
  const groups = grouped
    ? [{ key: "exposed", title: evidence ? "Called unlearned at θ: exposed by the attack" : "Called unlearned at θ, as often as θ_r's own outputs: no evidence",
      list: sorted.filter(attacked) },
      { key: "hidden", title: "Pass as θ_r at θ", list: sorted.filter((s) => !attacked(s)) }]
    : [{ key: "all", title: "All, by risk", list: sorted }];
  return (
    <div class="sample-groups">
      {groups.map((g) => (
        <div class="sample-group" data-group={g.key}>
          <div class="sub">{g.title} ({g.list.length})</div>
          <div class="sample-grid" role="list">
            {g.list.length === 0 && <span class="dim">none</span>}
            {g.list.map((s) => (
              <SampleCell s={s} thumb={s.index !== null ? thumbs?.get(s.index) ?? null : null} hit={attacked(s)} on={picked === s.position} onPick={onPick} />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

function SampleCell({ s, thumb, hit, on, onPick }: { s: AttackSample; thumb: InputSample | null; hit: boolean; on: boolean; onPick: (p: number) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (ref.current && thumb) drawInput(ref.current, thumb, 26, true); }, [thumb]);
  return (
    <button type="button" role="listitem" class={`sample${hit ? " hit" : ""}${on ? " on" : ""}`} data-position={s.position}
      style={{ background: riskColor(s.risk) }} onClick={() => onPick(s.position)}
      title={`#${s.index ?? "?"} label ${s.label ?? "?"} · risk ${s.risk.toFixed(2)} · value ${s.value.toFixed(3)} (θ_r ${s.retrain_value.toFixed(3)})`}>
      {thumb ? <canvas ref={ref} /> : <span>{s.label ?? ""}</span>}
    </button>
  );
}

function SampleDetail({ s, sid, attacked, evidence, featureLabel, runId }: { s: AttackSample; sid: string | null; attacked: boolean; evidence: boolean; featureLabel: string; runId: string }) {
  return (
    <div class="sample-detail" data-position={s.position}>
      {sid && <InputView sid={sid} index={s.index} size={112} />}
      <dl>
        <dt>forget position</dt><dd class="mono">{s.position}</dd>
        <dt>training index</dt><dd class="mono">{s.index ?? "–"}</dd>
        <dt>label</dt><dd>{s.label ?? "–"}</dd>
        <dt>{featureLabel} under θ_u</dt><dd class="mono">{s.value.toFixed(4)}</dd>
        <dt>… under θ_r</dt><dd class="mono">{s.retrain_value.toFixed(4)}</dd>
        <dt>prediction θ_u · θ_r</dt><dd>{s.prediction} · {s.retrain_prediction}</dd>
        <dt>risk</dt><dd><span class="risk-dot" style={{ background: riskColor(s.risk) }} /> {s.risk.toFixed(3)}</dd>
        <dt>at θ</dt><dd>{!attacked ? "passes as retrained" : evidence ? "called unlearned (exposed)" : "called unlearned, as θ_r's outputs are too (no evidence)"}</dd>
        <dt>at max attack score</dt><dd>{s.attacked ? "attacked" : "not attacked"}</dd>
      </dl>
      <AuditSampleStats runId={runId} index={s.index} />
    </div>
  );
}

// --- U-LiRA and the other ensemble audits -----------------------------------------------------------
const auditCache = new Map<string, Promise<AuditSamples>>();
function auditSamples(id: string): Promise<AuditSamples> {
  if (!auditCache.has(id)) auditCache.set(id, api.auditSamples(id).catch((e) => { auditCache.delete(id); throw e; }));
  return auditCache.get(id)!;
}
const runAudits = new Map<string, Promise<Audit[]>>();
function auditsOf(runId: string): Promise<Audit[]> {
  if (!runAudits.has(runId)) runAudits.set(runId, api.audits(runId).catch((e) => { runAudits.delete(runId); throw e; }));
  return runAudits.get(runId)!;
}

function AuditSampleStats({ runId, index }: { runId: string; index: number | null }) {
  const [state, setState] = useState<{ row: Record<string, number | null> | null; note: string | null }>({ row: null, note: null });
  useEffect(() => {
    let live = true;
    setState({ row: null, note: null });
    auditsOf(runId).then(async (audits) => {
      if (!audits.length) { if (live) setState({ row: null, note: "no audit: per-sample U-LiRA needs `unlearnlab audit`" }); return; }
      const audit = audits[audits.length - 1];
      const s = await auditSamples(audit.id);
      const k = index === null ? -1 : (s.forget_index ?? []).indexOf(index);
      if (!live) return;
      if (k < 0) { setState({ row: null, note: "this sample is not in the audit's arrays" }); return; }
      setState({ row: { "U-LiRA AUC": s.ulira_auc?.[k] ?? null, "challenge ε": s.challenge_eps?.[k] ?? null, "KLoM (forget)": s.klom_forget?.[k] ?? null }, note: null });
    }, (err) => { if (live) setState({ row: null, note: err instanceof ApiError && err.missingEndpoint ? "this server has no audit endpoints" : errorText(err) }); });
    return () => { live = false; };
  }, [runId, index]);
  if (state.note) return <p class="note audit-note">{state.note}</p>;
  if (!state.row) return null;
  return (
    <dl class="audit-sample">
      {Object.entries(state.row).map(([k, v]) => <><dt>{k}</dt><dd class="mono">{v === null ? "–" : v.toFixed(3)}</dd></>)}
    </dl>
  );
}

function fmtStat(s: Stat | undefined, digits = 3) {
  if (!s || s.value === null || s.value === undefined) return "–";
  const ci = s.ci ? ` [${fmtNum(s.ci[0], digits)}, ${fmtNum(s.ci[1], digits)}]` : "";
  return `${fmtNum(s.value, digits)}${ci}`;
}
function fmtNull(s: Stat | undefined, digits = 3) {
  if (!s || s.null === null || s.null === undefined) return "–";
  return `${fmtNum(s.null, digits)}${s.null_ci ? ` [${fmtNum(s.null_ci[0], digits)}, ${fmtNum(s.null_ci[1], digits)}]` : ""}`;
}
function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "–";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}
function fmtEffect(e: number | null | undefined, digits = 3): string {
  if (e === null || e === undefined || Number.isNaN(e)) return "–";
  return `${e > 0 ? "+" : ""}${e.toFixed(digits)}`;
}

/** The test's reading of one statistic (audits/statistics.py `verdict`), for statistics the audit
 * stores no verdict for. */
export function verdictOf(s: Stat, alpha: number, tooFew: number | null = null): string {
  if (tooFew !== null) return `too few models (need ${tooFew})`;
  if (s.degenerate) return "too few models (the null has no spread)";
  if (s.p === null || s.p === undefined) return "";
  if (s.p <= alpha) return "distinguishable";
  if (s.p_better !== null && s.p_better !== undefined && s.p_better <= alpha) return "better than null";
  return "not distinguished";
}

const VERDICT_HELP: Record<string, string> = {
  "distinguishable": "p ≤ α: worse than a perfect unlearner, with these models",
  "better than null": "the other tail: closer to retraining than retrained models are to each other",
  "not distinguished": "no evidence at this ensemble size (not proof of forgetting: see the power table in docs/audits.md)",
};

function verdictClass(v: string): string {
  if (v.startsWith("too few")) return "v-too-few";
  if (v === "distinguishable") return "v-bad";
  if (v === "better than null") return "v-better";
  if (v === "not distinguished" || v === "within null") return "v-none";
  return "";
}

interface AuditRow { key: string; label: string; stat: Stat; tested: boolean; verdict: string; digits: number }

/** Every statistic of an audit with its verdict: stored ones where the audit has them, else the same rule. */
function auditRows(audit: Audit): AuditRow[] {
  const alpha = audit.test?.alpha ?? 0.05;
  const stored = audit.verdicts ?? {};
  const tooFewKlom = audit.klom_min_refs && audit.refs < audit.klom_min_refs ? audit.klom_min_refs : null;
  const rows: AuditRow[] = [];
  const add = (key: string, label: string, stat: Stat | undefined, verdictKey: string | null, digits = 3, tooFew: number | null = null) => {
    if (!stat) return;
    const tested = stat.p !== undefined || stat.null !== undefined;
    const verdict = verdictKey && stored[verdictKey] ? stored[verdictKey] : tested ? verdictOf(stat, alpha, tooFew) : "";
    rows.push({ key, label, stat, tested, verdict, digits });
  };
  const u = audit.ulira ?? {};
  const uliraVerdict: Record<string, string> = { accuracy: "ulira_accuracy", auc: "ulira_auc" };
  for (const k of ["accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", ...Object.keys(u).filter((x) => !["accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr"].includes(x))]) {
    add(`ulira.${k}`, `U-LiRA ${statName(k)}`, u[k], uliraVerdict[k] ?? null);
  }
  add("forgetting_quality", "Forgetting quality F (challenge)", audit.forgetting_quality, "forgetting_quality");
  add("forgetting_quality_two_sided", "Forgetting quality F (two-sided)", audit.forgetting_quality_two_sided, "forgetting_quality_two_sided");
  for (const [split, stats] of Object.entries(audit.klom ?? {})) {
    for (const [q, st] of Object.entries(stats)) {
      add(`klom.${split}.${q}`, `KLoM ${split} ${q}`, st, split === "forget" && q === "median" ? "klom_forget_median" : null, 2, tooFewKlom);
    }
  }
  // θ_o's LiRA (before unlearning) is the baseline the unlearned model's (after) is read against
  for (const when of ["before", "after", ...Object.keys(audit.lira ?? {}).filter((w) => w !== "after" && w !== "before")]) {
    const modes = audit.lira?.[when];
    if (!modes) continue;
    for (const [mode, stats] of Object.entries(modes)) {
      for (const [k, st] of Object.entries(stats as Record<string, Stat>)) {
        add(`lira.${when}.${mode}.${k}`, `LiRA ${when} (${mode}) ${statName(k)}`, st, when === "after" && mode === "online" && k === "auc" ? "lira_after_online_auc" : null);
      }
    }
  }
  return rows;
}

const ACRONYMS = new Set(["auc", "tpr", "fpr", "tnr", "fnr"]);
/** "tpr_at_1pct_fpr" → "TPR at 1 % FPR": acronyms in capitals, every other word in lower case. */
export function statName(k: string): string {
  return k.split("_").map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w.replace(/pct$/, " %"))).join(" ");
}

/** Audit jobs queued from this page, by run id: a panel shown again later still follows its job. */
const queuedAudits = new Map<string, string>();
const queuedNote = (jobId: string) => `queued as job ${jobId}: its progress is in Build's job list; the audit shows here when it is done`;

function AuditPanel({ runId, method, onTip }: { runId: string; method: string; onTip: AppContext["setTip"] }) {
  const audits = useAsync(() => auditsOf(runId), [runId]);
  const [which, setWhich] = useState<string | null>(null);
  const [relRef, relWidth] = useWidth<HTMLDivElement>(480);
  const cmd = `unlearnlab audit ${runId}`;
  const [queued, setQueued] = useState<string | null>(() => (queuedAudits.has(runId) ? queuedNote(queuedAudits.get(runId)!) : null));
  const [following, setFollowing] = useState(0);
  const recheck = () => { runAudits.delete(runId); audits.reload(); };
  // The panel refreshes itself when an audit job queued from this page ends: no "check again" needed.
  useEffect(() => {
    const jobId = queuedAudits.get(runId);
    if (!jobId) return;
    const stream = followJob(jobId, -1, {
      onEvent: (ev) => {
        const end = TERMINAL[ev.type];
        if (!end) return;
        queuedAudits.delete(runId);
        if (end === "done") { setQueued(null); recheck(); }
        else setQueued(`audit job ${jobId} ${end}${ev.error ? `: ${ev.error}` : ""}`);
      },
      onGone: () => { queuedAudits.delete(runId); setQueued(`lost the event stream of job ${jobId}; check again when it is done`); },
    });
    return () => stream.close();
  }, [runId, following]);
  const submit = (refs: number) => {
    setQueued("submitting…");
    api.submitAudit(runId, refs).then(
      (job) => { queuedAudits.set(runId, job.id); setQueued(queuedNote(job.id)); setFollowing((n) => n + 1); },
      (err) => setQueued(`refused: ${errorText(err)}`));
  };
  let body;
  if (audits.loading) body = <Spinner label="Loading audits…" />;
  else if (audits.error) {
    const missing = audits.raw instanceof ApiError && audits.raw.missingEndpoint;
    body = <ErrorBox message={missing ? "this server has no audit endpoint (/api/runs/{id}/audits)" : audits.error} />;
  } else if ((!audits.data || audits.data.length === 0) && method === "retrain") {
    // An audit reads a run against θ_r: of θ_r itself there is nothing to test (the server refuses it).
    body = <Empty><div data-audit-self>A is θ_r, the audits' reference: an audit of it against itself has nothing to test. Pick an unlearned run as A to audit it.</div></Empty>;
  } else if (!audits.data || audits.data.length === 0) {
    body = (
      <Empty>
        <div>No audit of this run yet. U-LiRA (and F, KLoM, LiRA, relearning) need ensembles of retrained and unlearned models; make them with</div>
        <pre class="cmd">{cmd} --store &lt;this server's store&gt;</pre>
        <div>(16 members a side by default; <code>--refs 8</code> is quicker), or run it on this server:{" "}
          <button type="button" class="small" data-run-audit onClick={() => submit(8)}>audit with 8 members</button>{" "}
          <button type="button" class="small" onClick={() => submit(16)}>with 16</button>{" "}
          <button type="button" class="small" onClick={recheck}>check again</button></div>
        {queued && <div class="note" data-audit-queued>{queued}</div>}
      </Empty>
    );
  } else {
    const audit = audits.data.find((x) => x.id === which) ?? audits.data[audits.data.length - 1];
    const rows = auditRows(audit);
    const rel = audit.relearn?.heldout_accuracy;
    const relSeries = rel ? [{ key: "unlearned", label: `A: ${method || "unlearned"}`, color: COLOR_A, values: rel.unlearned },
      { key: "reference", label: audit.against === "retrain" ? "θ_r (retrain)" : `reference: run ${audit.against}`, color: COLOR_RETRAIN, values: rel.reference }] : [];
    body = (
      <div class="audit" data-audit={audit.id}>
        {audits.data.length > 1 && (
          <label>audit <select value={audit.id} onChange={(e) => setWhich((e.target as HTMLSelectElement).value)}>
            {audits.data.map((x) => <option value={x.id}>{x.id} · against {x.against} · {x.refs} refs</option>)}</select></label>
        )}
        <p class="note">Against {audit.against}, {audit.refs} models a side. Every statistic is read against its null: the same statistic
          when unlearned and retrained models swap places ({audit.test ? `${audit.test.kind} test, ${audit.test.permutations} permutations over ${audit.test.partitions} half-partitions, α = ${+audit.test.alpha.toFixed(3)}` : "an older audit: no p-values"}).
          p: chance under the null of a value at least this far from retraining; effect: value − null.
          {audit.klom_min_refs ? ` KLoM needs ${audit.klom_min_refs} models a side.` : ""}</p>
        <table class="audit-table" data-audit-version={audit.test ? "3" : "2"}>
          <thead><tr><th>Statistic</th><th title="Over the forget examples, with a bootstrap interval">Value [CI]</th>
            <th title="Mean of the swap distribution, and its central range">Null [range]</th>
            <th title="One-sided p-value: a value at least this bad when A and the retrained models swap places">p</th>
            <th title="value − null mean (z in the tooltip)">Effect</th><th>Verdict</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr data-stat={r.key} class={verdictClass(r.verdict)}>
                <td>{r.label}</td>
                <td class="mono">{fmtStat(r.stat, r.digits)}</td>
                {r.verdict.startsWith("too few") ? (
                  <td colSpan={4} class="too-few" data-too-few title="The statistic cannot discriminate at this ensemble size: no null, p or effect is shown">
                    {r.verdict}
                  </td>
                ) : r.tested ? (
                  <>
                    <td class="mono">{fmtNull(r.stat, r.digits)}</td>
                    <td class="mono p" title={r.stat.p_better != null ? `p (better than null) = ${fmtP(r.stat.p_better)}` : undefined}>{fmtP(r.stat.p)}</td>
                    <td class="mono" title={r.stat.z != null ? `z = ${r.stat.z.toFixed(2)}` : "z: the null has no spread"}>{fmtEffect(r.stat.effect, r.digits)}</td>
                    <td class="verdict" title={VERDICT_HELP[r.verdict] ?? ""}>{r.verdict}</td>
                  </>
                ) : (
                  <><td class="dim" colSpan={3}>{r.key.startsWith("lira.before") ? "θ_o, for reference: not tested" : ""}</td><td /></>
                )}
              </tr>
            ))}
            {audit.final_score && <tr data-stat="final_score"><td>Challenge final score</td><td class="mono">{fmtNum(audit.final_score.value)}</td><td class="mono">{fmtNum(audit.final_score.null)}</td><td colSpan={3} /></tr>}
          </tbody>
        </table>
        {rel && (
          <div ref={relRef} class="chart-box" data-relearn>
            <div class="sub">Relearning attack: held-out forget accuracy while fine-tuning on part of D_f</div>
            <Lines series={relSeries} xs={rel.unlearned.map((_, i) => i)} width={relWidth} height={200} xLabel="fine-tuning step"
              yLabel="held-out forget acc." yDomain={[0, 1]} onTip={onTip} />
            <Legend items={relSeries.map((x) => ({ label: x.label, color: x.color, shape: "line" as const }))} />
          </div>
        )}
      </div>
    );
  }
  return <Panel title="U-LiRA and ensemble audits" id="audit" help="Per-example likelihood-ratio attack against retraining, where ensembles exist">{body}</Panel>;
}
