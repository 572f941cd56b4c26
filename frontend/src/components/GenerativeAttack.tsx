import { useEffect, useState } from "preact/hooks";
import { api, ApiError, errorText } from "../api";
import { followJob, TERMINAL } from "../jobEvents";
import { useAsync } from "../hooks";
import { COLOR_A, COLOR_RETRAIN, fmtPct } from "../format";
import { Empty, ErrorBox, Panel, Spinner } from "./common";
import { Sample } from "./Gallery";
import type { AttackGallery, GenAttack, GenAttackRequest } from "../types";

/** Attack jobs queued from this page, by run id: a panel shown again later still follows its job. */
const queuedAttacks = new Map<string, string>();

const pct = (v: number | null | undefined) => (v == null ? "–" : fmtPct(v));
const ci = (c: [number, number] | null | undefined) => (c ? ` [${fmtPct(c[0])}, ${fmtPct(c[1])}]` : "");
const curveText = (c: GenAttack["curve"] | undefined) => (c ? c.steps.map((s, i) => `${s}: ${pct(c.forget_rate[i])}`).join(" → ") : "–");
const budgetText = (a: GenAttack) => Object.entries(a.budget).filter(([k]) => !["radius_abs", "scale"].includes(k))
  .map(([k, v]) => `${k} ${typeof v === "number" ? +v.toFixed(4) : v}`).join(", ");

/** The Attack view of a generative request: can the erased class be brought back from model A?
 *  The embedding attack (UnlearnDiffAtk-style) or the relearning attack, each read against θ_r attacked
 *  with the same settings (paired by initial noise: exact one-sided McNemar test), and the regenerated
 *  samples of A and θ_r before and after the attack. */
export function GenerativeAttackPanel({ runId, method }: { runId: string; method: string }) {
  const attacks = useAsync((signal) => api.genAttacks(runId, signal), [runId]);
  const [which, setWhich] = useState<string | null>(null);
  const [queued, setQueued] = useState<string | null>(() => (queuedAttacks.has(runId) ? `following job ${queuedAttacks.get(runId)}` : null));
  const [following, setFollowing] = useState(0);
  const [form, setForm] = useState<GenAttackRequest>({ kind: "embedding", steps: 100, radius: 1.0, noise_search: 1, n_samples: 100, seed: 0 });
  useEffect(() => {
    const jobId = queuedAttacks.get(runId);
    if (!jobId) return;
    const stream = followJob(jobId, -1, {
      onEvent: (ev) => {
        const end = TERMINAL[ev.type];
        if (!end) return;
        queuedAttacks.delete(runId);
        if (end === "done") { setQueued(null); setWhich(null); attacks.reload(); }
        else setQueued(`attack job ${jobId} ${end}${ev.error ? `: ${ev.error}` : ""}`);
      },
      onGone: () => { queuedAttacks.delete(runId); setQueued(`lost the event stream of job ${jobId}; reload when it is done`); },
    });
    return () => stream.close();
  }, [runId, following]);
  const submit = () => {
    const body: GenAttackRequest = { kind: form.kind, steps: form.steps, n_samples: form.n_samples, seed: form.seed };
    if (form.kind === "embedding") { body.radius = form.radius; body.noise_search = form.noise_search; }
    setQueued("submitting…");
    api.submitGenAttack(runId, body).then(
      (job) => { queuedAttacks.set(runId, job.id); setQueued(`queued as job ${job.id} (θ_r is attacked with the same settings first)`); setFollowing((n) => n + 1); },
      (err) => setQueued(`refused: ${errorText(err)}`));
  };
  const num = (key: keyof GenAttackRequest) => (e: Event) => {
    const v = Number((e.target as HTMLInputElement).value);
    setForm((f) => ({ ...f, [key]: v }));
  };
  const formBox = (
    <form class="toolbar attack-form" data-gen-attack-form onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label>attack <select name="kind" value={form.kind} onChange={(e) => {
        const kind = (e.target as HTMLSelectElement).value as GenAttackRequest["kind"];
        setForm((f) => ({ ...f, kind, steps: kind === "embedding" ? 100 : 20 }));
      }}>
        <option value="embedding">embedding (UnlearnDiffAtk-style)</option>
        <option value="relearn">relearning</option>
      </select></label>
      <label>steps <input name="steps" type="number" min={1} max={5000} value={form.steps} onInput={num("steps")} /></label>
      {form.kind === "embedding" && <label title="L2 ball around the class's own embedding, relative to the embedding table's mean row norm">
        radius <input name="radius" type="number" min={0.01} max={10} step={0.05} value={form.radius} onInput={num("radius")} /></label>}
      {form.kind === "embedding" && <label title="Initial noises tried per sample; the attacker's own classifier (not the judge) keeps the most class-like. 1: no search">
        noise search <input name="noise_search" type="number" min={1} max={64} value={form.noise_search} onInput={num("noise_search")} /></label>}
      <label>samples <input name="n_samples" type="number" min={2} max={2000} value={form.n_samples} onInput={num("n_samples")} /></label>
      <label>seed <input name="seed" type="number" min={0} value={form.seed} onInput={num("seed")} /></label>
      <button type="submit" class="small" data-run-gen-attack>attack A (and θ_r)</button>
      {queued && <span class="note" data-gen-attack-queued>{queued}</span>}
    </form>
  );
  let body;
  if (attacks.loading && !attacks.data) body = <Spinner label="Loading attacks…" />;
  else if (attacks.error) {
    const missing = attacks.raw instanceof ApiError && attacks.raw.missingEndpoint;
    body = <ErrorBox message={missing ? "this server has no generative attack endpoint" : attacks.error} onRetry={attacks.reload} />;
  } else if (!attacks.data || attacks.data.length === 0) {
    body = <Empty><div>No attack of this run yet. Run one above, or from the command line:</div>
      <pre class="cmd">unlearnlab attack {runId} --store &lt;this server's store&gt;</pre></Empty>;
  } else {
    const list = attacks.data;
    const a = list.find((x) => x.id === which) ?? list[list.length - 1];
    body = (
      <div data-gen-attack={a.id}>
        {list.length > 1 && (
          <label>attack <select value={a.id} onChange={(e) => setWhich((e.target as HTMLSelectElement).value)}>
            {list.map((x) => <option value={x.id}>{x.attack} · {budgetText(x)} · n {x.n_samples} · seed {x.seed}</option>)}
          </select></label>
        )}
        <AttackSummary a={a} method={method} />
        <AttackSamples a={a} method={method} />
      </div>
    );
  }
  return (
    <Panel title={`Can the forgotten class be brought back from A (${method})?`} id="gen-attack"
      help="An attacker optimises the class's conditioning (embedding attack) or fine-tunes on a few images of it (relearning), then samples the class again; a judge classifier reads the samples. θ_r never saw the class and is attacked the same way: read A beside it.">
      {formBox}
      {body}
    </Panel>
  );
}

function AttackSummary({ a, method }: { a: GenAttack; method: string }) {
  const vs = a.versus_retrain ?? {};
  const noted = Object.values(a.notes ?? {});
  const verdict = noted.length ? noted.join("; ") : vs.verdict ?? vs.note ?? "–";
  const easier = verdict.startsWith("easier");
  return (
    <>
      <p class="note">{a.attack === "embedding" ? "Embedding attack" : "Relearning attack"} on class {a.forget_class}: {budgetText(a)};
        {" "}{a.n_samples} samples before and after from the same initial noise (seed {a.seed}). Success: the share the judge assigns to the class.
        {" "}θ_r, attacked with the same settings, is the baseline; the verdict is an exact one-sided McNemar test on the paired samples
        (α = {vs.alpha ?? 0.05}), conditional on this attack's own draws.</p>
      <table class="gen-attack-table" data-verdict={verdict}>
        <thead><tr><th>model</th><th>forget rate</th><th>success after the attack [95 % CI]</th>{a.curve && <th>on the way (step: rate)</th>}<th>only this / only θ_r</th><th>p</th><th>verdict</th></tr></thead>
        <tbody>
          <tr data-row="A"><th style={{ color: COLOR_A }}>A: {method}</th><td>{pct(a.forget_rate)}</td>
            <td data-success>{pct(a.attack_success_rate)}{ci(a.success_ci)}</td>
            {a.curve && <td data-curve>{curveText(a.curve)}</td>}
            <td>{vs.run_only != null ? `${vs.run_only} / ${vs.retrain_only}` : "–"}</td>
            <td>{vs.p != null ? vs.p.toFixed(3) : "–"}</td>
            <td class={easier ? "bad" : undefined} data-verdict-cell>{verdict}</td></tr>
          {vs.retrain_run_id && <tr data-row="retrain"><th style={{ color: COLOR_RETRAIN }}>θ_r (retrain)</th><td>–</td>
            <td>{pct(vs.retrain_success_rate)}{ci(vs.retrain_success_ci)}</td>{a.curve && <td>{curveText(vs.retrain_curve)}</td>}<td /><td /><td /></tr>}
        </tbody>
      </table>
    </>
  );
}

function SampleRow({ label, images, preds, shape, cls, color }: {
  label: string; images: number[][]; preds: number[] | null; shape: number[]; cls: number; color: string;
}) {
  return (
    <tr>
      <th style={{ color }}>{label}</th>
      <td>{images.map((v, i) => {
        const hit = preds ? preds[i] === cls : false;
        return <span key={i} class={hit ? "gen-hit" : undefined} data-hit={hit ? "true" : undefined}
          style={{ display: "inline-block", outline: hit ? `2px solid ${COLOR_RETRAIN}` : "none", margin: "1px" }}>
          <Sample values={v} shape={shape} title={`${label}, sample ${i + 1}${preds ? `: judged ${preds[i]}` : ""}`} /></span>;
      })}</td>
    </tr>
  );
}

/** The attack's regenerated samples of A and of θ_r (same settings), before and after, framed where the judge
 *  reads the forgotten class. */
function AttackSamples({ a, method }: { a: GenAttack; method: string }) {
  const ref = a.versus_retrain?.retrain_audit_id;
  const ga = useAsync((signal) => api.attackGallery(a.id, signal), [a.id]);
  const gr = useAsync((signal) => (ref ? api.attackGallery(ref, signal) : null), [ref]);
  if (ga.error || gr.error) return <ErrorBox message={(ga.error ?? gr.error)!} onRetry={() => { ga.reload(); gr.reload(); }} />;
  if (!ga.data || (ref && !gr.data)) return <Spinner label="Loading the regenerated samples…" />;
  const rows: [string, AttackGallery, string][] = [[`A: ${method}`, ga.data, COLOR_A]];
  if (gr.data) rows.push(["θ_r", gr.data, COLOR_RETRAIN]);
  return (
    <table class="gallery gen-attack-samples" data-ready>
      <thead><tr><th /><th>samples of class {a.forget_class}, framed where the judge reads it</th></tr></thead>
      <tbody>
        {rows.flatMap(([label, g, color]) => [
          <SampleRow key={`${label}-b`} label={`${label}, before`} images={g.before} preds={g.before_pred} shape={g.shape} cls={g.forget_class} color={color} />,
          <SampleRow key={`${label}-a`} label={`${label}, after the attack`} images={g.after} preds={g.after_pred} shape={g.shape} cls={g.forget_class} color={color} />,
        ])}
      </tbody>
    </table>
  );
}
