// Thin typed client of the JSON API. Every error becomes an ApiError carrying the server's
// one-line `detail` (or a network message), so views can show it as is.

import type {
  Gallery, GenAttack, AttackGallery, GenAttackRequest,
  Audit, AuditSamples, AttackResult, Comparison, DatasetGroups, DatasetInfo, Health, Inputs, Job, MethodInfo, ModelInfo,
  Options, PresetInfo, Run, Scenario, ScreenPayload, SeedsPayload, SelectionPayload,
} from "./types";

export class ApiError extends Error {
  constructor(public status: number, message: string, public path: string) {
    super(message);
  }
  /** The endpoint does not exist on this server (an older server), not "unknown run". */
  get missingEndpoint(): boolean {
    return this.status === 404 && /no endpoint at/.test(this.message);
  }
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach the server (${(err as Error).message}); is \`unlearnlab serve\` running?`, path);
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail, path);
  }
  return data as T;
}

const get = <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal);
const enc = encodeURIComponent;

export const api = {
  health: () => get<Health>("/api/health"),
  options: () => get<Options>("/api/options"),
  methods: () => get<MethodInfo[]>("/api/methods"),
  datasets: () => get<DatasetInfo[]>("/api/datasets"),
  datasetGroups: (spec: string, seed: number, signal?: AbortSignal) =>
    get<DatasetGroups>(`/api/datasets/groups?dataset=${enc(spec)}&seed=${seed}`, signal),
  models: () => get<ModelInfo[]>("/api/models"),
  presets: () => get<PresetInfo[]>("/api/presets"),
  scenarios: () => get<Scenario[]>("/api/scenarios"),
  scenarioRuns: (sid: string, signal?: AbortSignal) => get<ScreenPayload>(`/api/scenarios/${enc(sid)}/runs`, signal).then(withEnvironments),
  seeds: (sid: string, rankBy: string, signal?: AbortSignal) =>
    get<SeedsPayload>(`/api/scenarios/${enc(sid)}/seeds?rank_by=${enc(rankBy)}`, signal),
  selection: (sid: string, signal?: AbortSignal) => get<SelectionPayload>(`/api/scenarios/${enc(sid)}/selection`, signal),
  run: (id: string) => get<Run>(`/api/runs/${enc(id)}`),
  deleteRun: (id: string) => request<{ deleted: string }>("DELETE", `/api/runs/${enc(id)}`),
  weightsUrl: (id: string) => `/api/runs/${enc(id)}/weights`,
  jsonUrl: (id: string) => `/api/runs/${enc(id)}/json`,
  attack: (id: string, feature: string, compare: string | null, signal?: AbortSignal) =>
    get<AttackResult>(`/api/runs/${enc(id)}/attack?feature=${enc(feature)}${compare ? `&compare=${enc(compare)}` : ""}`, signal),
  gallery: (id: string, signal?: AbortSignal) => get<Gallery>(`/api/runs/${enc(id)}/gallery`, signal),
  compare: (a: string, b: string, signal?: AbortSignal) => get<Comparison>(`/api/compare?a=${enc(a)}&b=${enc(b)}`, signal),
  audits: (id: string, signal?: AbortSignal) => get<Audit[]>(`/api/runs/${enc(id)}/audits`, signal),
  auditSamples: (auditId: string, signal?: AbortSignal) => get<AuditSamples>(`/api/audits/${enc(auditId)}/samples`, signal),
  inputs: (sid: string, indices: number[], signal?: AbortSignal) =>
    get<Inputs>(`/api/scenarios/${enc(sid)}/inputs?indices=${indices.join(",")}`, signal),
  jobs: () => get<Job[]>("/api/jobs"),
  submitJob: (body: unknown) => request<Job>("POST", "/api/jobs", body),
  cancelJob: (id: string) => request<Job>("POST", `/api/jobs/${enc(id)}/cancel`),
  genAttacks: (id: string, signal?: AbortSignal) => get<GenAttack[]>(`/api/runs/${enc(id)}/attacks`, signal),
  attackGallery: (auditId: string, signal?: AbortSignal) => get<AttackGallery>(`/api/attacks/${enc(auditId)}/gallery`, signal),
  submitGenAttack: (runId: string, body: GenAttackRequest) => request<Job>("POST", `/api/runs/${enc(runId)}/attacks`, body),
  submitAudit: (runId: string, refs: number) => request<Job>("POST", `/api/runs/${enc(runId)}/audit`, { refs }),
  /** `after`: resume after this event id (-1: the whole log). */
  eventsUrl: (id: string, after = -1) => `/api/jobs/${enc(id)}/events${after >= 0 ? `?after=${after}` : ""}`,
};

/** Each run gets its environment manifests (the payload sends each distinct one once, by id). */
function withEnvironments(p: ScreenPayload): ScreenPayload {
  const envs = p.environments ?? {};
  for (const r of p.runs) {
    r.environment = r.environment_id ? envs[r.environment_id] ?? null : null;
    r.trained_environment = r.trained_environment_id ? envs[r.trained_environment_id] ?? null : null;
  }
  return p;
}

/** The one-line message to show for an error (the server's `detail`, or what went wrong locally). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
