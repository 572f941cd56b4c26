import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { useAsync } from "../hooks";
import type { AppContext } from "../App";
import { ErrorBox, Panel, Spinner } from "../components/common";
import { GroupPicker, datasetSpec } from "../components/GroupPicker";
import { JobsPanel } from "../components/Jobs";
import { PoisonForget, PoisonPicker, poisonDefaults, poisonSpec } from "../components/PoisonPicker";
import { fmtValue } from "../format";
import type { DatasetInfo, Health, Job, MethodInfo, ModelInfo, Options, ParamInfo, PresetInfo } from "../types";

type ForgetKind = "class" | "fraction" | "count" | "group" | "poison" | "poison-share";

interface Meta {
  options: Options; methods: MethodInfo[]; datasets: DatasetInfo[]; models: ModelInfo[]; presets: PresetInfo[]; health: Health | null;
}

async function loadMeta(): Promise<Meta> {
  const [options, methods, datasets, models, presets, health] = await Promise.all([
    api.options(), api.methods(), api.datasets(), api.models(), api.presets(), api.health().catch(() => null)]);
  return { options, methods, datasets, models, presets, health };
}

/** "class:0" / "random:4500" / "random:0.1" / "group:3,7" → the form's forget fields (null: a form the web UI has no field for). */
export function forgetFields(request: string): { kind: ForgetKind; value: string } | null {
  const [form, rest = ""] = request.split(":", 2);
  if (form === "class" && /^\d+(,\d+)*$/.test(rest)) return { kind: "class", value: rest };
  if (form === "random" && /^\d+$/.test(rest)) return { kind: "count", value: rest };
  if (form === "random" && Number(rest) > 0 && Number(rest) < 1) return { kind: "fraction", value: rest };
  if (form === "group" && /^[^,]+(,[^,]+)*$/.test(rest)) return { kind: "group", value: rest };
  return null;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The Generation block's first fields (the others are under "More generation options"): [option, label]. */
const GEN_MAIN: [string, string][] = [
  ["train.steps", "training steps (θ_o, θ_r)"], ["gen.guidance", "guidance scale w"], ["gen.sample_steps", "sampling steps"],
  ["gen.n_per_class", "samples per class (metrics)"],
];

/** Whether a method applies to the model's kind: generation methods on a generative model, the others on a classifier. */
export function methodApplies(m: Pick<MethodInfo, "tasks">, generative: boolean): boolean {
  const tasks = m.tasks ?? ["classification"];
  return generative ? tasks.includes("generation") : tasks.some((t) => t !== "generation");
}

/** A typed option from its text, its kind read from the default (numbers go as typed; the server checks int or float). */
function parseOption(name: string, text: string, def: unknown): unknown {
  const type = typeof def === "boolean" ? "bool" : typeof def === "number" ? "float" : "str";
  return parseScalar(text, { name, type, default: def } as ParamInfo);
}

/** Parse one typed value; throws an Error naming the problem. */
export function parseScalar(text: string, p: Pick<ParamInfo, "name" | "type" | "default">): unknown {
  const t = text.trim();
  switch (p.type) {
    case "int": {
      if (!/^[-+]?\d+$/.test(t)) throw new Error(`${p.name}: ${JSON.stringify(t)} is not an integer`);
      return Number(t);
    }
    case "float": {
      const v = Number(t);
      if (t === "" || !Number.isFinite(v)) throw new Error(`${p.name}: ${JSON.stringify(t)} is not a number`);
      return v;
    }
    case "bool": {
      if (/^(true|1|yes)$/i.test(t)) return true;
      if (/^(false|0|no)$/i.test(t)) return false;
      throw new Error(`${p.name}: ${JSON.stringify(t)} is not true or false`);
    }
    case "tuple":
      throw new Error(`${p.name} is a list, which the web API cannot set (use the CLI)`);
    case "str":
      if (!t) throw new Error(`${p.name}: empty value`);
      return t;
    default: {
      // "any": a number if it reads as one, else the text
      const v = Number(t);
      return t !== "" && Number.isFinite(v) ? v : t;
    }
  }
}

/** "0.01, 0.02" → [0.01, 0.02] (typed); an empty text → null (the default). */
export function parseGridValues(text: string, p: ParamInfo, maxValues: number): unknown[] | null {
  if (!text.trim()) return null;
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) return null;
  if (parts.length > maxValues) throw new Error(`${p.name}: ${parts.length} values; at most ${maxValues}`);
  const values = parts.map((s) => parseScalar(s, p));
  const seen = new Set<string>();
  for (const v of values) {
    const key = JSON.stringify(v);
    if (seen.has(key)) throw new Error(`${p.name}: the value ${key} is repeated`);
    seen.add(key);
  }
  return values;
}

export function BuildView({ ctx }: { ctx: AppContext }) {
  const meta = useAsync(() => loadMeta(), []);
  const [jobsTick, setJobsTick] = useState(0);
  const [submitted, setSubmitted] = useState<Job | null>(null);
  if (meta.loading) return <Spinner label="Loading methods, data sets and models…" />;
  if (meta.error || !meta.data) return <ErrorBox message={meta.error ?? "no data"} onRetry={meta.reload} />;
  return (
    <div class="build-grid">
      <BuildForm meta={meta.data} onSubmitted={(job) => { setSubmitted(job); setJobsTick((t) => t + 1); }} />
      <JobsPanel tick={jobsTick} highlight={submitted?.id ?? null} onJobFinished={() => { ctx.reloadScenarios(); ctx.reloadRuns(); }} />
    </div>
  );
}

function BuildForm({ meta, onSubmitted }: { meta: Meta; onSubmitted: (job: Job) => void }) {
  const webDatasets = meta.datasets.filter((d) => d.web);
  const [presetName, setPresetName] = useState("");
  const preset = meta.presets.find((p) => p.name === presetName) ?? null;
  const [dataset, setDataset] = useState((webDatasets.find((d) => d.present !== false) ?? webDatasets[0])?.name ?? "digits");
  const [datasetParams, setDatasetParams] = useState<Record<string, string>>({});
  const [model, setModel] = useState(meta.models.some((m) => m.name === "cnn") ? "cnn" : meta.models[0]?.name ?? "");
  const generativeModels = meta.options.generative_models ?? meta.models.filter((m) => m.task === "generation").map((m) => m.name);
  const generative = generativeModels.includes(model);
  /** gen.* and train.* texts of a generative model (its recipe is not the classifiers'), keyed "gen.NAME" / "train.NAME". */
  const [genOpts, setGenOpts] = useState<Record<string, string>>({});
  const [forgetKind, setForgetKind] = useState<ForgetKind>("class");
  const [forgetClass, setForgetClass] = useState("3");
  const [forgetFraction, setForgetFraction] = useState("0.1");
  const [forgetCount, setForgetCount] = useState("100");
  const [forgetGroups, setForgetGroups] = useState<string[]>([]);
  const [hasGroups, setHasGroups] = useState(false);
  const poisons = meta.options.poisons ?? [];
  const [poison, setPoison] = useState(() => poisonDefaults(poisons));
  const [poisonShare, setPoisonShare] = useState("0.5");
  const [seed, setSeed] = useState("0");
  const [train, setTrain] = useState<Record<string, string>>({});
  const [prune, setPrune] = useState("");
  const [device, setDevice] = useState("");
  const [trackForget, setTrackForget] = useState(true);
  const gridable = meta.methods.filter((m) => m.gridable);
  const shown = gridable.filter((m) => methodApplies(m, generative));
  const [selected, setSelected] = useState<Set<string>>(() => new Set(gridable.some((m) => m.name === "ft") ? ["ft"] : gridable.slice(0, 1).map((m) => m.name)));
  const [grids, setGrids] = useState<Record<string, Record<string, string>>>({});
  const [open, setOpen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);

  const ds = meta.datasets.find((d) => d.name === dataset);
  useEffect(() => setDatasetParams({}), [dataset]);
  useEffect(() => { if (!hasGroups && forgetKind === "group") setForgetKind("class"); }, [hasGroups, forgetKind]);
  // poison / poison:F name the poisoned samples: without a poison there are none
  useEffect(() => { if (!poison.on && forgetKind.startsWith("poison")) setForgetKind("class"); }, [poison.on, forgetKind]);
  const changePoison = (next: typeof poison) => {
    if (next.on && !poison.on) setForgetKind("poison");  // the usual request on poisoned data: undo the poison
    setPoison(next);
  };
  const gridableNames = gridable.map((m) => m.name);
  const genDefaults: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(meta.options.generation_train_defaults ?? {}).map(([k, v]) => [`train.${k}`, v])),
    ...Object.fromEntries(Object.entries(meta.options.gen_defaults ?? {}).map(([k, v]) => [`gen.${k}`, v])),
  };
  /** Switching between a classifier and a generative model: its own methods (one chosen), a class request, no preset. */
  const pickModel = (name: string) => {
    const nowGenerative = generativeModels.includes(name);
    if (nowGenerative !== generative) {
      const pool = gridable.filter((m) => methodApplies(m, nowGenerative));
      const first = pool.find((m) => m.name === (nowGenerative ? "esd" : "ft")) ?? pool[0];
      setSelected(new Set(first ? [first.name] : []));
      setGrids({});
      setOpen(null);
      if (nowGenerative) {
        setPresetName("");
        setForgetKind("class");
        if (ds && ds.num_classes == null) setDataset("digits");
      }
    }
    setModel(name);
  };
  const presetMethods = preset ? (preset.methods ?? gridableNames).filter((n) => gridableNames.includes(n)) : null;
  /** What an empty field stands for: the preset's value where a preset is chosen, else the default. */
  const trainBase = (k: string) => (preset && k in preset.train ? preset.train[k] : meta.options.train_defaults[k]);
  const gridBase = (m: string, p: ParamInfo) => preset?.method_params[m]?.[p.name] ?? p.default;

  /** Fill the form from a preset: data set, model, recipe, its first forget request, methods and their hyper-parameters. */
  const pickPreset = (name: string) => {
    setPresetName(name);
    const p = meta.presets.find((x) => x.name === name);
    if (!p) return;
    setDataset(p.dataset);
    setModel(p.model);
    const t: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.train)) {
      if (!Array.isArray(v) && k in meta.options.train_defaults && !same(v, meta.options.train_defaults[k])) t[k] = String(v);
    }
    setTrain(t);
    pickForget(p.forget[0] ?? "");
    setSelected(new Set((p.methods ?? gridableNames).filter((n) => gridableNames.includes(n))));
    const g: Record<string, Record<string, string>> = {};
    for (const [m, params] of Object.entries(p.method_params)) {
      g[m] = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
    }
    setGrids(g);
  };
  const pickForget = (request: string) => {
    const f = forgetFields(request);
    if (!f) return;
    setForgetKind(f.kind);
    if (f.kind === "class") setForgetClass(f.value);
    else if (f.kind === "fraction") setForgetFraction(f.value);
    else if (f.kind === "group") setForgetGroups(f.value.split(","));
    else setForgetCount(f.value);
  };

  // Build the request and collect every problem before the server sees it.
  const { body, problems, perMethod, total } = useMemo(() => {
    const problems: string[] = [];
    if (ds && ds.present === false) problems.push(ds.missing ?? `data set ${ds.name}: its files are missing from the server's data root`);
    const dsParams: Record<string, unknown> = {};
    for (const p of ds?.params ?? []) {
      const text = datasetParams[p.name];
      if (text === undefined || text.trim() === "") continue;
      try { dsParams[p.name] = parseScalar(text, p); } catch (e) { problems.push(`dataset ${(e as Error).message}`); }
    }
    let forget = "";
    if (forgetKind === "class" || generative) {
      const parts = forgetClass.split(",").map((s) => s.trim()).filter(Boolean);
      if (!parts.length || !parts.every((s) => /^\d+$/.test(s))) problems.push("forget classes: give class numbers such as 3 or 1,7");
      forget = `class:${parts.join(",")}`;
    } else if (forgetKind === "fraction") {
      const f = Number(forgetFraction);
      if (!(f > 0 && f < 1)) problems.push("forget fraction must be in (0, 1)");
      forget = `random:${forgetFraction.trim()}`;
    } else if (forgetKind === "group") {
      if (!forgetGroups.length) problems.push("forget groups: tick at least one group");
      forget = `group:${forgetGroups.join(",")}`;
    } else if (forgetKind === "poison") {
      forget = "poison";
    } else if (forgetKind === "poison-share") {
      const f = Number(poisonShare);
      if (poisonShare.trim() === "" || !(f > 0 && f <= 1)) problems.push(`forget poison:F: F ${JSON.stringify(poisonShare.trim())} must be a share in (0, 1]`);
      forget = `poison:${poisonShare.trim()}`;
    } else {
      if (!/^\d+$/.test(forgetCount.trim()) || Number(forgetCount) < 1) problems.push("forget count must be a positive integer");
      forget = `random:${forgetCount.trim()}`;
    }
    if (!/^\d+$/.test(seed.trim())) problems.push("seed must be a non-negative integer");
    const poisoned = generative ? { spec: null, problems: [] } : poisonSpec(poison, poisons, ds?.num_classes);
    problems.push(...poisoned.problems);
    if (generative && ds && ds.num_classes == null) problems.push(`data set ${ds.name}: a generative model needs a classification data set of images (digits, mnist, fashion_mnist)`);
    const trainOpts: Record<string, unknown> = {};
    const genBody: Record<string, unknown> = {};
    for (const [key, def] of generative ? Object.entries(genDefaults) : []) {
      const text = genOpts[key];
      if (text === undefined || text.trim() === "") continue;
      const [group, name] = key.split(".", 2);
      try { (group === "train" ? trainOpts : genBody)[name] = parseOption(key, text, def); } catch (e) { problems.push((e as Error).message); }
    }
    for (const [k, def] of generative ? [] : Object.entries(meta.options.train_defaults)) {
      const text = train[k];
      if (text === undefined || text.trim() === "") continue;
      // numbers go as typed ("5" is sent as an integer): the server widens ints to floats and names a float given for an int
      const type = typeof def === "boolean" ? "bool" : typeof def === "number" ? "float" : "str";
      try { trainOpts[k] = parseScalar(text, { name: `train.${k}`, type, default: def } as ParamInfo); } catch (e) { problems.push((e as Error).message); }
    }
    let pruneValue: number | null = null;
    if (prune.trim() && !generative) {
      pruneValue = Number(prune);
      if (!(pruneValue > 0 && pruneValue < 1)) problems.push("prune sparsity must be in (0, 1)");
    }
    const methods = shown.filter((m) => selected.has(m.name)).map((m) => m.name);
    if (!methods.length) problems.push("choose at least one method");
    const gridBody: Record<string, Record<string, unknown[]>> = {};
    const perMethod: Record<string, number> = {};
    for (const name of methods) {
      const info = meta.methods.find((m) => m.name === name)!;
      let count = 1;
      for (const p of info.params) {
        const text = grids[name]?.[p.name];
        if (!text) continue;
        try {
          const values = parseGridValues(text, p, meta.options.max_grid_values);
          if (values) {
            (gridBody[name] ??= {})[p.name] = values;
            count *= values.length;
          }
        } catch (e) { problems.push(`${name}.${(e as Error).message}`); }
      }
      perMethod[name] = count;
    }
    const total = Object.values(perMethod).reduce((s, n) => s + n, 0);
    if (total > meta.options.max_configs_per_job) problems.push(`the grids expand to ${total} configurations; at most ${meta.options.max_configs_per_job} per job`);
    // a generative job: the diffusion recipe in train, the sampler and model in gen; no prune, poison or preset
    const body: Record<string, unknown> = generative
      ? { dataset, dataset_params: dsParams, model, forget, seed: Number(seed), train: trainOpts, gen: genBody, methods, grids: gridBody }
      : {
        dataset, dataset_params: dsParams, model, forget, seed: Number(seed), train: trainOpts, prune: pruneValue,
        methods, grids: gridBody, track_forget_accuracy: trackForget,
      };
    if (device) body.device = device;
    if (generative) return { body, problems, perMethod, total };
    if (poisoned.spec) body.poison = poisoned.spec;
    if (preset) {
      // The server resolves the preset as `unlearnlab run --preset` does; send only what differs from it
      // (each value sent overrides the preset's and is named in the job's preset_overridden).
      const diff: Record<string, unknown> = { preset: preset.name, ...body };
      if (dataset === preset.dataset) delete diff.dataset;
      if (model === preset.model) delete diff.model;
      diff.train = Object.fromEntries(Object.entries(trainOpts).filter(([k, v]) => !same(v, trainBase(k))));
      if (presetMethods && same([...methods].sort(), [...presetMethods].sort())) delete diff.methods;
      const g: Record<string, Record<string, unknown[]>> = {};
      for (const [m, params] of Object.entries(gridBody)) {
        for (const [k, values] of Object.entries(params)) {
          const base = preset.method_params[m]?.[k];
          if (!(values.length === 1 && base !== undefined && same(values[0], base))) (g[m] ??= {})[k] = values;
        }
      }
      diff.grids = g;
      return { body: diff, problems, perMethod, total };
    }
    return { body, problems, perMethod, total };
  }, [preset, dataset, datasetParams, model, generative, genOpts, forgetKind, forgetClass, forgetFraction, forgetCount, forgetGroups, poison, poisonShare, seed, train, prune, device, trackForget, selected, grids, meta]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (problems.length || busy) return;
    setBusy(true);
    setServerError(null);
    try {
      const job = await api.submitJob(body);
      onSubmitted(job);
    } catch (err) {
      setServerError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const toggle = (name: string, on: boolean) => setSelected((s) => {
    const n = new Set(s);
    if (on) n.add(name); else n.delete(name);
    return n;
  });
  const genField = (key: string, label: string) => (
    <label>{label}
      <input name={key} placeholder={fmtValue(genDefaults[key])} value={genOpts[key] ?? ""}
        onInput={(e) => setGenOpts((g) => ({ ...g, [key]: (e.target as HTMLInputElement).value }))} />
    </label>
  );
  const setGrid = (method: string, param: string, text: string) => setGrids((g) => ({ ...g, [method]: { ...(g[method] ?? {}), [param]: text } }));

  return (
    <form class="build-form" onSubmit={submit} aria-label="New job">
      <Panel title="Forget request" id="request">
        {!generative && <div class="preset-row">
          <label>Preset
            <select name="preset" value={presetName} onChange={(e) => pickPreset((e.target as HTMLSelectElement).value)}>
              <option value="">none: set every field below</option>
              {meta.presets.map((p) => (
                <option value={p.name} title={p.paper}>{p.name} ({p.dataset} · {p.model}){p.data_present ? "" : " · data missing"}</option>
              ))}
            </select>
          </label>
          {preset && (
            <div class="preset-info" data-preset={preset.name}>
              <p class="preset-paper">Follows <b>{preset.paper}</b></p>
              <p class="note">{preset.recipe}. Forget requests:{" "}
                {preset.forget.map((f) => (
                  <button type="button" class="small ghost" data-forget={f} disabled={!forgetFields(f)} onClick={() => pickForget(f)}>{f}</button>
                ))}
              </p>
              {preset.notes && <p class="note">{preset.notes}</p>}
              <p class="note">Fields you change override the preset's value (the job lists them); an empty field keeps the preset's value shown.</p>
            </div>
          )}
        </div>}
        <div class="form-grid">
          <label>Data set
            <select name="dataset" value={dataset} onChange={(e) => setDataset((e.target as HTMLSelectElement).value)}>
              {meta.datasets.filter((d) => !d.standard).map((d) => (
                <option value={d.name} disabled={!d.web || (generative && d.num_classes == null)} title={d.doc}>{d.name}{d.web ? generative && d.num_classes == null ? " (no classes: not for a generative model)" : "" : " (reads files: CLI only)"}</option>
              ))}
              <optgroup label="standard (from the server's data root)">
                {meta.datasets.filter((d) => d.standard).map((d) => (
                  <option value={d.name} title={d.present ? d.doc : d.missing ?? ""} data-present={String(d.present !== false)}>
                    {d.name}{d.present === false ? " (files missing)" : ""}</option>
                ))}
              </optgroup>
            </select>
            {ds && <small>{ds.doc}</small>}
            {ds && ds.present === false && <small class="missing" role="note" data-missing={ds.name}>{ds.missing}</small>}
            {ds?.standard && meta.health?.data_root && <small class="dim">read from {meta.health.data_root} ({meta.health.data_root_source}); the server does not download</small>}
          </label>
          {(ds?.params ?? []).map((p) => (
            <label>{dataset}.{p.name}
              <input name={`dataset.${p.name}`} placeholder={fmtValue(p.default)} value={datasetParams[p.name] ?? ""}
                onInput={(e) => setDatasetParams((d) => ({ ...d, [p.name]: (e.target as HTMLInputElement).value }))} />
            </label>
          ))}
          <label>Model
            <select name="model" value={model} onChange={(e) => pickModel((e.target as HTMLSelectElement).value)}>
              {meta.models.filter((m) => !generativeModels.includes(m.name)).map((m) => <option value={m.name} title={m.doc}>{m.name}{m.source === "entry point" ? " (plugin)" : ""}</option>)}
              {generativeModels.length > 0 && (
                <optgroup label="generative (erase a class from an image generator)">
                  {meta.models.filter((m) => generativeModels.includes(m.name)).map((m) => <option value={m.name} title={m.doc}>{m.name}</option>)}
                </optgroup>
              )}
            </select>
            <small>{meta.models.find((m) => m.name === model)?.params.map((p) => `${p.name}=${fmtValue(p.default)}`).join(", ")}</small>
          </label>
          <label>Seed
            <input name="seed" inputMode="numeric" value={seed} onInput={(e) => setSeed((e.target as HTMLInputElement).value)} />
          </label>
        </div>
        {!generative && <PoisonPicker poisons={poisons} value={poison} onChange={changePoison} numClasses={ds?.num_classes} dataset={dataset} />}
        <fieldset class="forget">
          <legend>Forget</legend>
          <label class="radio"><input type="radio" name="forget-kind" checked={forgetKind === "class" || generative} onChange={() => setForgetKind("class")} />
            classes <input name="forget-class" class="short" value={forgetClass} disabled={forgetKind !== "class" && !generative} onInput={(e) => setForgetClass((e.target as HTMLInputElement).value)} placeholder="3 or 1,7" /></label>
          {generative && <small data-note="generative-forget">A generative model erases classes: its samples of them should look like θ_r's, which never saw them.</small>}
          {!generative && <>
          <label class="radio"><input type="radio" name="forget-kind" checked={forgetKind === "fraction"} onChange={() => setForgetKind("fraction")} />
            random fraction <input name="forget-fraction" class="short" value={forgetFraction} disabled={forgetKind !== "fraction"} onInput={(e) => setForgetFraction((e.target as HTMLInputElement).value)} placeholder="0.1" /></label>
          <label class="radio"><input type="radio" name="forget-kind" checked={forgetKind === "count"} onChange={() => setForgetKind("count")} />
            random count <input name="forget-count" class="short" value={forgetCount} disabled={forgetKind !== "count"} onInput={(e) => setForgetCount((e.target as HTMLInputElement).value)} placeholder="100" /></label>
          {poison.on && <PoisonForget kind={forgetKind} share={poisonShare} onKind={setForgetKind} onShare={setPoisonShare} />}
          {ds?.web && ds.present !== false && (
            <GroupPicker dataset={datasetSpec(dataset, datasetParams)} seed={seed} active={forgetKind === "group"}
              selected={forgetGroups} onActivate={() => setForgetKind("group")} onSelect={setForgetGroups}
              onAvailable={setHasGroups} holdOut={(ds.params ?? []).some((p) => p.name === "unseen")} />
          )}
          <label class="radio disabled" title="The web API reads no files: use the command line">
            <input type="radio" name="forget-kind" disabled /> indices from a file: <code>unlearnlab run --forget indices:FILE</code> (the server reads no paths)</label>
          </>}
        </fieldset>
        {generative && (
          <fieldset class="generation" data-block="generation">
            <legend>Generation</legend>
            <div class="form-grid">
              {GEN_MAIN.filter(([key]) => key in genDefaults).map(([key, label]) => genField(key, label))}
            </div>
            <details class="gen-more">
              <summary>More generation options (model size, recipe, gallery), device</summary>
              <div class="form-grid">
                {Object.keys(genDefaults).filter((key) => !GEN_MAIN.some(([k]) => k === key)).map((key) => genField(key, key))}
                <label>device
                  <select name="device" value={device} onChange={(e) => setDevice((e.target as HTMLSelectElement).value)}>
                    <option value="">auto</option><option value="cpu">cpu</option><option value="cuda">cuda</option>
                  </select>
                </label>
              </div>
              <small>Empty fields keep the defaults shown. gen.gallery: samples per class stored for the Samples panel; θ_o, θ_r and the judge are reused from the store when the same recipe ran before.</small>
            </details>
          </fieldset>
        )}
        {!generative && <details class="train-options">
          <summary>Training of θ_o and θ_r, pruning, device</summary>
          <div class="form-grid">
            {Object.entries(meta.options.train_defaults).map(([k, def]) => (
              typeof def === "boolean" ? (
                <label class="check"><input type="checkbox" name={`train.${k}`} checked={train[k] ? train[k] === "true" : Boolean(trainBase(k))}
                  onChange={(e) => setTrain((t) => ({ ...t, [k]: String((e.target as HTMLInputElement).checked) }))} /> train.{k}</label>
              ) : (
                <label>train.{k}
                  <input name={`train.${k}`} placeholder={`${fmtValue(trainBase(k))}${Array.isArray(def) ? " (CLI only)" : ""}`} disabled={Array.isArray(def)}
                    value={train[k] ?? ""} list={k === "schedule" ? "schedules" : undefined}
                    onInput={(e) => setTrain((t) => ({ ...t, [k]: (e.target as HTMLInputElement).value }))} />
                </label>
              )
            ))}
            <datalist id="schedules"><option value="cosine" /><option value="constant" /><option value="multistep" /><option value="onecycle" /></datalist>
            <label>prune θ_o first (sparsity)
              <input name="prune" placeholder="none (e.g. 0.5)" value={prune} onInput={(e) => setPrune((e.target as HTMLInputElement).value)} />
            </label>
            <label>device
              <select name="device" value={device} onChange={(e) => setDevice((e.target as HTMLSelectElement).value)}>
                <option value="">auto</option><option value="cpu">cpu</option><option value="cuda">cuda</option>
              </select>
            </label>
            <label class="check"><input type="checkbox" checked={trackForget} onChange={(e) => setTrackForget((e.target as HTMLInputElement).checked)} /> report forget accuracy after every epoch</label>
          </div>
          <small>Empty fields keep the {preset ? "preset's values" : "defaults"} shown. θ_o and θ_r are reused from the store when the same recipe ran before.</small>
        </details>}
      </Panel>
      <Panel title={`Methods (${shown.filter((m) => selected.has(m.name)).length} of ${shown.length}${generative ? ", generation" : ""})`} id="methods"
        actions={<>
          <button type="button" class="small" onClick={() => setSelected(new Set(shown.map((m) => m.name)))}>all</button>
          <button type="button" class="small" onClick={() => setSelected(new Set())}>none</button>
        </>}>
        <p class="note">θ_o and θ_r always run (or are reused). Grid: comma-separated values per hyper-parameter; every combination runs (at most {meta.options.max_grid_values} values per parameter, {meta.options.max_configs_per_job} configurations per job).</p>
        <ul class="method-list">
          {shown.map((m) => {
            const on = selected.has(m.name);
            return (
              <li class={on ? "on" : ""} data-method={m.name}>
                <div class="method-row">
                  <label class="check" title={m.doc}>
                    <input type="checkbox" name={`method.${m.name}`} checked={on} onChange={(e) => toggle(m.name, (e.target as HTMLInputElement).checked)} />
                    <b>{m.name}</b>
                  </label>
                  {!m.uses_labels && <span class="tag" title="Does not read the forget set's labels">label-free</span>}
                  {m.needs_retrain && <span class="tag warn" title="Reads θ_r: an oracle upper bound, not a method">oracle</span>}
                  <span class="paper dim" title={m.paper}>{m.paper}</span>
                  {on && <span class="count" data-count={perMethod[m.name]}>{perMethod[m.name]} config{perMethod[m.name] === 1 ? "" : "s"}</span>}
                  {on && m.params.length > 0 && <button type="button" class="small ghost" onClick={() => setOpen(open === m.name ? null : m.name)}>{open === m.name ? "hide grid" : "grid…"}</button>}
                </div>
                {on && open === m.name && (
                  <div class="grid-params">
                    {m.doc && <p class="note">{m.doc}</p>}
                    {m.params.map((p) => (
                      <label title={m.reference_defaults[p.name] !== undefined ? `paper's default: ${fmtValue(m.reference_defaults[p.name])}` : ""}>
                        {p.name} <span class="dim">({p.type})</span>
                        <input name={`grid.${m.name}.${p.name}`} placeholder={`${fmtValue(gridBase(m.name, p))}${p.type === "tuple" ? " (CLI only)" : ""}`} disabled={p.type === "tuple"}
                          value={grids[m.name]?.[p.name] ?? ""} onInput={(e) => setGrid(m.name, p.name, (e.target as HTMLInputElement).value)} />
                      </label>
                    ))}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      </Panel>
      <div class="submit-bar">
        <span class="total" data-total={total}>{total} method configuration{total === 1 ? "" : "s"} (+ θ_o, θ_r)</span>
        <button type="submit" class="primary" disabled={problems.length > 0 || busy}>{busy ? "Submitting…" : "Run job"}</button>
        <details class="request-json"><summary>request JSON</summary><pre>{JSON.stringify(body, null, 2)}</pre></details>
      </div>
      {problems.length > 0 && <ul class="problems" role="alert">{problems.map((p) => <li>{p}</li>)}</ul>}
      {serverError && <ErrorBox message={serverError} />}
    </form>
  );
}
