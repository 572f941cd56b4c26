import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "./api";
import { hashFor, navigate, useAsync, useRoute, type View } from "./hooks";
import { BuildView } from "./views/Build";
import { ScreenView } from "./views/Screen";
import { ContrastView } from "./views/Contrast";
import { AttackView } from "./views/Attack";
import { Tooltip, type TipState } from "./components/common";
import { COLOR_A, COLOR_B, fmtHparams, runLabel } from "./format";
import type { Run, Scenario } from "./types";

const TABS: { view: View; label: string; title: string }[] = [
  { view: "build", label: "Build", title: "Choose a forget request, methods and grids; run jobs on the server" },
  { view: "screen", label: "Screen", title: "Every run of a scenario: table, trade-off scatter, pick A and B" },
  { view: "contrast", label: "Contrast", title: "A against B: per class, prediction matrices, embedding, CKA, instances" },
  { view: "attack", label: "Attack", title: "Threshold attacks against θ_r and U-LiRA audits" },
];

export interface AppContext {
  scenarios: Scenario[] | null;
  scenariosError: string | null;
  reloadScenarios: () => void;
  sid: string | null;
  scenario: Scenario | null;
  runs: Run[] | null;
  runsError: string | null;
  runsLoading: boolean;
  reloadRuns: () => void;
  a: string | null;
  b: string | null;
  setTip: (t: TipState | null) => void;
}

export function App() {
  const route = useRoute();
  const [tip, setTip] = useState<TipState | null>(null);
  const [scenarioTick, setScenarioTick] = useState(0);
  const scenarios = useAsync(() => api.scenarios(), [scenarioTick]);
  const health = useAsync(() => api.health(), [scenarioTick]);
  const { a = null, b = null } = route.params;
  let sid: string | null = route.params.s ?? null;

  // Without a scenario in the URL, open the newest one that has runs.
  const fallback = useMemo(() => {
    const list = scenarios.data ?? [];
    const withRuns = list.filter((s) => s.runs > 0);
    return (withRuns.length ? withRuns : list).slice(-1)[0]?.id ?? null;
  }, [scenarios.data]);
  if (!sid) sid = fallback;
  const runs = useAsync((signal) => (sid ? api.scenarioRuns(sid, signal) : null), [sid]);

  // A link that names models but not their scenario (or the wrong one): follow model A's scenario.
  useEffect(() => {
    if (!a || !runs.data || runs.data.scenario.id !== sid || runs.data.runs.some((r) => r.id === a)) return;
    let live = true;
    api.run(a).then((r) => { if (live && r.scenario_id !== sid) navigate(null, { s: r.scenario_id }); }, () => undefined);
    return () => { live = false; };
  }, [a, runs.data]);

  // A scenario the list does not know yet (made by a job since it loaded): reload the list.
  const reloadedFor = useRef<string | null>(null);
  useEffect(() => {
    if (sid && reloadedFor.current !== sid && scenarios.data && !scenarios.loading && runs.data?.scenario.id === sid
      && !scenarios.data.some((s) => s.id === sid)) {
      reloadedFor.current = sid; // once per scenario: no loop if the list never has it
      setScenarioTick((t) => t + 1);
    }
  }, [sid, scenarios.data, runs.data]);

  useEffect(() => setTip(null), [route.view]);
  useEffect(() => {
    document.title = `unlearnlab · ${TABS.find((t) => t.view === route.view)?.label ?? ""}`;
  }, [route.view]);

  // Runs of another scenario (the previous one, kept while the new one loads) are never shown as this one's.
  const current = runs.data && runs.data.scenario.id === sid ? runs.data : null;
  const scenario = current?.scenario ?? scenarios.data?.find((s) => s.id === sid) ?? null;
  const ctx: AppContext = {
    scenarios: scenarios.data, scenariosError: scenarios.error,
    reloadScenarios: () => setScenarioTick((t) => t + 1),
    sid, scenario, runs: current?.runs ?? null, runsError: runs.error, runsLoading: runs.loading,
    reloadRuns: runs.reload, a, b, setTip,
  };
  const runA = ctx.runs?.find((r) => r.id === a) ?? null;
  const runB = ctx.runs?.find((r) => r.id === b) ?? null;
  const running = health.data?.jobs?.running ?? 0;
  const queued = health.data?.jobs?.queued ?? 0;

  return (
    <div class="app">
      <header class="top">
        <a class="brand" href={hashFor("screen", { s: sid })}>unlearnlab</a>
        <nav class="tabs" aria-label="Views">
          {TABS.map((t, i) => (
            <a href={hashFor(t.view, { s: sid, a, b })} class={route.view === t.view ? "tab on" : "tab"} title={t.title}
              aria-current={route.view === t.view ? "page" : undefined} data-tab={t.view}>
              <span class="step">{i + 1}</span>{t.label}
            </a>
          ))}
        </nav>
        <div class="picks" aria-label="Models picked for Contrast and Attack">
          <Chip which="A" id={a} run={runA} color={COLOR_A} />
          <Chip which="B" id={b} run={runB} color={COLOR_B} />
          {(a || b) && <button type="button" class="small ghost" title="Swap A and B" onClick={() => navigate(null, { a: b, b: a })}>⇄</button>}
        </div>
        <div class="server" title={health.data ? `store: ${health.data.store}` : health.error ?? ""}>
          {health.error ? <span class="bad">server unreachable</span>
            : health.data ? <span>v{health.data.version}{running + queued > 0 ? ` · jobs: ${running} running, ${queued} queued` : ""}</span> : null}
        </div>
      </header>
      <main class={`view view-${route.view}`} data-view={route.view}>
        {route.view === "build" && <BuildView ctx={ctx} />}
        {route.view === "screen" && <ScreenView ctx={ctx} />}
        {route.view === "contrast" && <ContrastView ctx={ctx} />}
        {route.view === "attack" && <AttackView ctx={ctx} />}
      </main>
      <Tooltip tip={tip} />
    </div>
  );
}

function Chip({ which, id, run, color }: { which: "A" | "B"; id: string | null; run: Run | null; color: string }) {
  if (!id) return <span class="chip empty" data-pick={which}><b style={{ color }}>{which}</b> not picked</span>;
  return (
    <span class="chip" data-pick={which} style={{ borderColor: color }} title={run ? fmtHparams(run.hparams) : id}>
      <b style={{ color }}>{which}</b> {run ? runLabel(run) : id.slice(0, 6)}
      <button type="button" class="x" aria-label={`Clear model ${which}`} onClick={() => navigate(null, { [which.toLowerCase()]: null })}>×</button>
    </span>
  );
}
