import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorText } from "../api";
import { hashFor } from "../hooks";
import { ErrorBox, Panel, Spinner } from "./common";
import { fmtDate, fmtHparams, fmtMetric, fmtPct, fmtSeconds } from "../format";
import { followJob, TERMINAL, type JobStream } from "../jobEvents";
import type { Job, JobEvent } from "../types";

/** What the page knows about a job: its record, updated by its server-sent events. */
interface Live {
  job: Job;
  progress: JobEvent | null;
  method: JobEvent | null;
  finished: JobEvent[];
  connected: boolean;
  phase: string | null;
}

/** Browsers allow about six connections per host: stream at most this many jobs at once, poll the rest. */
const MAX_STREAMS = 3;
/** A job's status only moves forward: a poll answered before an event must not undo it. */
const STAGE: Record<Job["status"], number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };
const isActive = (j: Job) => j.status === "queued" || j.status === "running";

export function JobsPanel({ tick, highlight, onJobFinished }: { tick: number; highlight: string | null; onJobFinished: (job: Job) => void }) {
  const [jobs, setJobs] = useState<Map<string, Live>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const streams = useRef(new Map<string, JobStream>());
  /** The last event id handled per job: a reopened stream resumes after it (nothing is replayed). */
  const lastSeen = useRef(new Map<string, number>());
  /** Jobs whose terminal event was handled: never streamed again. */
  const ended = useRef(new Set<string>());
  /** Jobs whose stream the browser gave up on (an HTTP error): retried once per poll, not in a loop. */
  const gone = useRef(new Set<string>());
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;
  const finishedCb = useRef(onJobFinished);
  finishedCb.current = onJobFinished;

  const update = (id: string, fn: (l: Live) => Live) => setJobs((m) => {
    const cur = m.get(id);
    if (!cur) return m;
    const n = new Map(m);
    n.set(id, fn(cur));
    return n;
  });

  const refresh = async () => {
    try {
      const list = await api.jobs();
      setError(null);
      setLoaded(true);
      gone.current.clear();
      const listed = new Set(list.map((j) => j.id));
      for (const [id, stream] of streams.current) {
        if (!listed.has(id)) { stream.close(); streams.current.delete(id); }
      }
      // a job seen finishing by the poll alone (it was never streamed): its end is announced once too
      const endedByPoll = list.filter((j) => !isActive(j) && !ended.current.has(j.id) && !streams.current.has(j.id)
        && jobsRef.current.get(j.id) && isActive(jobsRef.current.get(j.id)!.job));
      // (a streamed job ends with its terminal event, which also carries its runs and error)
      for (const j of list) if (!isActive(j) && !streams.current.has(j.id)) ended.current.add(j.id);
      setJobs((m) => {
        const n = new Map<string, Live>();
        for (const job of list) {
          const cur = m.get(job.id);
          // a streamed job keeps its event-driven state; a stale poll never moves it back
          n.set(job.id, cur ? { ...cur, job: STAGE[cur.job.status] > STAGE[job.status] ? cur.job : job }
            : { job, progress: null, method: null, finished: [], connected: false, phase: null });
        }
        return n;
      });
      for (const j of endedByPoll) finishedCb.current(j);
    } catch (err) {
      setError(errorText(err));
      setLoaded(true);
    }
  };

  useEffect(() => { refresh(); }, [tick]);
  useEffect(() => {
    const timer = setInterval(() => {
      if ([...jobs.values()].some((l) => isActive(l.job))) refresh();
    }, 4000);
    return () => clearInterval(timer);
  }, [jobs]);

  // Stream the unfinished jobs (running first, then the oldest queued), MAX_STREAMS at a time.
  useEffect(() => {
    const wanted = [...jobs.values()].filter((l) => isActive(l.job) && !ended.current.has(l.job.id))
      .sort((p, q) => Number(q.job.status === "running") - Number(p.job.status === "running") || p.job.created - q.job.created)
      .slice(0, MAX_STREAMS).map((l) => l.job.id);
    for (const id of wanted) {
      if (streams.current.has(id) || gone.current.has(id)) continue;
      streams.current.set(id, followJob(id, lastSeen.current.get(id) ?? -1, {
        onEvent: (ev) => { lastSeen.current.set(id, ev.id); handle(id, ev); },
        onState: (open) => update(id, (l) => ({ ...l, connected: open })),
        onGone: () => { streams.current.delete(id); gone.current.add(id); },
      }));
    }
  }, [jobs]);

  useEffect(() => () => { for (const s of streams.current.values()) s.close(); streams.current.clear(); }, []);

  const handle = (id: string, ev: JobEvent) => {
    const terminal = TERMINAL[ev.type];
    if (terminal) {
      streams.current.get(id)?.close();
      streams.current.delete(id);
      if (ended.current.has(id)) return;
      ended.current.add(id);
    }
    update(id, (l) => {
      const job = { ...l.job };
      let { progress, method, finished, phase } = l;
      // references_started names the scenario the worker built: "open in Screen" needs no poll for it
      // (a short job could end between two polls, and none follows a job's end)
      if (typeof ev.scenario_id === "string") job.scenario_id = ev.scenario_id;
      switch (ev.type) {
        case "job_started": job.status = "running"; job.started = ev.time; phase = "starting"; break;
        case "references_started": phase = "training θ_o and θ_r (or loading them from the store)"; break;
        case "method_started": method = ev; progress = null; phase = null; break;
        case "progress": case "epoch":
          // keep the last epoch count and forget accuracy of the same phase between epoch events
          progress = progress && progress.phase === ev.phase && progress.index === ev.index ? { ...progress, ...ev } : ev;
          break;
        case "cancel_requested": job.cancel_requested = true; break;
        case "run_finished":
          finished = [...finished.filter((f) => f.run_id !== ev.run_id), ev];
          if (ev.run_id && !job.run_ids.includes(ev.run_id)) job.run_ids = [...job.run_ids, ev.run_id];
          break;
        default:
          if (terminal) {
            job.status = terminal;
            job.finished = ev.time;
            if (ev.error) job.error = ev.error;
            if (Array.isArray(ev.run_ids)) job.run_ids = ev.run_ids;
            progress = null;
            phase = null;
          }
      }
      return { ...l, job, progress, method, finished, phase };
    });
    if (terminal) {
      const l = jobsRef.current.get(id);
      if (l) finishedCb.current({ ...l.job, status: terminal });
    }
  };

  const cancel = async (id: string) => {
    try {
      const job = await api.cancelJob(id);
      update(id, (l) => ({ ...l, job: { ...l.job, cancel_requested: true, status: job.status } }));
    } catch (err) {
      setError(`cancel ${id}: ${errorText(err)}`);
      refresh();
    }
  };

  const list = [...jobs.values()].sort((p, q) => q.job.created - p.job.created);
  return (
    <Panel title="Jobs" id="jobs" help="Jobs run on the server, one at a time, in order; closing the tab does not stop them"
      actions={<button type="button" class="small ghost" onClick={refresh}>refresh</button>}>
      {error && <ErrorBox message={error} onRetry={refresh} />}
      {!loaded ? <Spinner label="Loading jobs…" /> : list.length === 0 ? (
        <div class="state empty">No jobs since the server started. Submit one on the left.</div>
      ) : (
        <ul class="jobs">
          {list.map((l) => <JobItem live={l} highlight={l.job.id === highlight} onCancel={cancel} />)}
        </ul>
      )}
    </Panel>
  );
}

const CLASSIFIER_COLUMNS: [string, string][] = [["ua", "UA"], ["ra", "RA"], ["ta", "TA"], ["privacy_score", "Privacy"]];
const GENERATIVE_COLUMNS: [string, string][] = [["forget_rate", "Forget rate"], ["kept_accuracy", "Kept acc."], ["fd_kept", "FD kept"]];

function JobItem({ live, highlight, onCancel }: { live: Live; highlight: boolean; onCancel: (id: string) => void }) {
  const { job, progress, method, finished, phase } = live;
  const req = job.request;
  const active = isActive(job);
  const methods = job.configs.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.method]: (acc[c.method] ?? 0) + 1 }), {});
  const pct = progress && progress.steps ? Math.min(1, progress.step / progress.steps) : null;
  // a generative job's runs have a forget rate and kept accuracy in place of UA, RA, TA and privacy
  const columns = finished.some((f) => f.metrics?.forget_rate !== undefined) ? GENERATIVE_COLUMNS : CLASSIFIER_COLUMNS;
  return (
    <li class={`job s-${job.status}${highlight ? " new" : ""}`} data-job={job.id} data-status={job.status}>
      <div class="job-head">
        <span class={`status s-${job.status}`}>{job.status}{job.cancel_requested && active ? " (cancelling)" : ""}</span>
        <span class="mono">{job.id}</span>
        <span>{req.preset ? <span class="tag" title={(req.preset_overridden ?? []).length ? `overridden: ${req.preset_overridden.join(", ")}` : "as the preset pins it"}>{req.preset}</span> : null} {req.dataset} · {req.model} · forget {req.forget} · seed {req.seed}</span>
        <span class="dim">{fmtDate(job.created)}</span>
        <span class="spacer" />
        {active && <button type="button" class="small danger" disabled={job.cancel_requested} onClick={() => onCancel(job.id)}>cancel</button>}
        {job.run_ids.length > 0 && job.scenario_id && <a class="button small" href={hashFor("screen", { s: job.scenario_id })}>open in Screen</a>}
      </div>
      <div class="job-configs dim">
        {job.configs.length} configuration{job.configs.length === 1 ? "" : "s"}: {Object.entries(methods).map(([m, n]) => (n > 1 ? `${m} ×${n}` : m)).join(", ")}
      </div>
      {job.status === "queued" && <div class="dim">queued{job.queue_position != null ? ` (position ${job.queue_position})` : ""}</div>}
      {job.status === "running" && (
        <div class="job-progress" aria-live="polite">
          <div class="job-now">
            {method ? <><b>{method.method}</b> ({method.index + 1}/{method.total}) <span class="dim">{fmtHparams(method.hparams ?? {})}</span></>
              : <span>{phase ?? (progress?.phase ? progress.phase : "starting…")}</span>}
          </div>
          {progress && (
            <>
              <div class="progress-bar"><div class="progress-fill" style={{ width: `${(pct ?? 0) * 100}%` }} /></div>
              <div class="job-stats">
                {progress.phase && <span>{progress.phase}</span>}
                <span>epoch {progress.epoch}{progress.epochs ? `/${progress.epochs}` : ""}</span>
                <span>step {progress.step}/{progress.steps}</span>
                <span>loss {progress.loss == null ? "–" : Number(progress.loss).toFixed(4)}</span>
                {progress.forget_acc != null && <span title="Accuracy on (up to 512 samples of) D_f after the epoch">forget acc. {fmtPct(progress.forget_acc)}</span>}
                <span>ETA {fmtSeconds(progress.eta_s)}</span>
                {progress.job_eta_s != null && <span>job ETA {fmtSeconds(progress.job_eta_s)}</span>}
              </div>
            </>
          )}
          {!live.connected && <div class="dim">connecting to the event stream…</div>}
        </div>
      )}
      {job.error && <div class="error-text">{job.error}</div>}
      {finished.length > 0 && (
        <table class="job-runs">
          <thead><tr><th>run</th><th>method</th><th>status</th>{columns.map(([key, label]) => <th class="num" data-metric={key}>{label}</th>)}</tr></thead>
          <tbody>
            {finished.map((f) => (
              <tr data-run={f.run_id}>
                <td class="mono">{f.run_id ?? "–"}</td><td>{f.method}{f.cached ? " (cached)" : ""}</td>
                <td><span class={`status s-${f.status}`} title={f.reason ?? ""}>{f.status}</span></td>
                {columns.map(([key]) => <td class="num">{fmtMetric(key, f.metrics?.[key])}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!active && job.finished && job.started && <div class="dim">took {fmtSeconds(job.finished - job.started)}</div>}
    </li>
  );
}
