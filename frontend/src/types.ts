// Shapes of the JSON API (src/unlearnlab/server/schemas.py; OpenAPI at /docs).

export interface ParamInfo {
  name: string;
  default: unknown;
  type: "bool" | "int" | "float" | "str" | "tuple" | "any";
}

export interface MethodInfo {
  name: string;
  params: ParamInfo[];
  reference_defaults: Record<string, unknown>;
  paper: string;
  doc: string;
  uses_labels: boolean;
  needs_retrain: boolean;
  /** The task types it applies to (classification, regression, generation). */
  tasks?: string[];
  gridable: boolean;
}

/** GET /api/datasets/groups?dataset=SPEC: a group (`group:` token) and its sample counts. */
export interface GroupCount { group: string; train: number; test: number }
export interface DatasetGroups { dataset: string; seed: number; groups: GroupCount[]; note?: string | null }

export interface DatasetInfo {
  name: string;
  params: ParamInfo[];
  doc: string;
  web: boolean;
  /** A standard data set (CIFAR, MNIST, SVHN), read from the server's data root. */
  standard?: boolean;
  /** Its files are in the server's data root (always true for the others); the server never downloads. */
  present?: boolean;
  /** Otherwise: one line saying which files to put where. */
  missing?: string | null;
  /** Its classes where no parameter changes them (a poison's target is one of 0..num_classes-1). */
  num_classes?: number | null;
}

export interface ModelInfo {
  name: string;
  params: ParamInfo[];
  doc: string;
  source?: "built-in" | "entry point";
  /** generation: a generative model (ddpm), its params being the job's gen.* model options. */
  task?: "classification" | "generation";
}

/** A published protocol's setting (GET /api/presets, as `unlearnlab presets --json`). */
export interface PresetInfo {
  name: string;
  paper: string;
  dataset: string;
  model: string;
  recipe: string;
  train: Record<string, unknown>;
  forget: string[];
  methods: string[] | null;
  method_params: Record<string, Record<string, unknown>>;
  notes: string;
  data_present: boolean;
  data_missing: string | null;
}

export interface PoisonInfo {
  name: string;
  /** The accepted text, e.g. badnets:RATE[,target=C]. */
  form: string;
  params: ParamInfo[];
  paper: string;
  doc: string;
}

export interface Options {
  train_defaults: Record<string, unknown>;
  forget_forms: string[];
  max_configs_per_job: number;
  max_grid_values: number;
  /** Registered poisons (a job's `poison`); absent on an older server. */
  poisons?: PoisonInfo[];
  /** Models whose jobs erase a class from an image generator (forget class:C only). */
  generative_models?: string[];
  /** train.* of a generative model's θ_o and θ_r (the diffusion recipe: steps, batch_size, lr, ...). */
  generation_train_defaults?: Record<string, unknown>;
  /** A generative job's gen.* options with their defaults (sampler, metrics, model size). */
  gen_defaults?: Record<string, unknown>;
  /** task -> the methods that apply to it. */
  task_methods?: Record<string, string[]>;
}

export interface Health {
  status: string;
  version: string;
  store: string;
  jobs: Record<string, number>;
  data_root?: string;
  data_root_source?: string;
}

export interface Scenario {
  id: string;
  dataset: string;
  dataset_params: Record<string, unknown>;
  model: string;
  forget: string;
  forget_size: number;
  forget_classes: number[] | null;
  num_classes: number | null;
  n_train: number | null;
  n_test: number | null;
  seed: number;
  train: Record<string, unknown>;
  prune: number | null;
  created: number;
  runs: number;
  /** False when a run flagged the request unusable (e.g. θ_o at chance); absent on older servers. */
  request_usable?: boolean;
  /** classification, regression or generation; absent on older servers (classification). */
  task?: string;
}

/** GET /api/runs/{id}/gallery: a generative run's fixed-seed samples per class. */
export interface Gallery {
  run_id: string;
  scenario_id: string;
  method: string;
  /** One image's shape: channels, height, width. */
  shape: number[];
  classes: { label: number; name: string; forgotten: boolean; images: number[][] }[];
}

/** GET /api/runs/{id}/attacks: a stored generative attack (audits/generative_audit.py), read against θ_r's. */
export interface GenAttack {
  id: string;
  run_id: string;
  method: string;
  attack: "embedding" | "relearn";
  forget_class: number;
  n_samples: number;
  seed: number;
  forget_rate: number | null;
  attack_success_rate: number | null;
  forget_rate_ci?: [number, number];
  success_ci?: [number, number];
  budget: Record<string, number | string>;
  seconds: number;
  notes: Record<string, string>;
  settings: Record<string, unknown>;
  /** Relearning only: the forget rate at 0, a quarter, half and all of the steps. */
  curve?: { steps: number[]; forget_rate: (number | null)[] };
  versus_retrain?: {
    retrain_curve?: { steps: number[]; forget_rate: (number | null)[] };
    note?: string; retrain_run_id?: string; retrain_audit_id?: string; retrain_success_rate?: number | null;
    retrain_success_ci?: [number, number] | null; run_only?: number; retrain_only?: number; p?: number | null;
    alpha?: number; verdict?: string;
  };
}

/** GET /api/attacks/{id}/gallery: the first samples of the class before and after an attack (same noise). */
export interface AttackGallery {
  audit_id: string;
  run_id: string;
  attack: string;
  forget_class: number;
  shape: number[];
  before: number[][];
  after: number[][];
  before_pred: number[] | null;
  after_pred: number[] | null;
}

export interface GenAttackRequest {
  kind: "embedding" | "relearn";
  steps?: number;
  radius?: number;
  noise_search?: number;
  n_samples?: number;
  seed?: number;
}

/** GET /api/scenarios/{id}/selection: how a worst: or memorised: request chose its forget set. */
export interface SelectionPayload {
  scenario_id: string;
  forget: string;
  kind: string;
  score: string;
  chosen: string;
  cutoff: number | null;
  size: number;
  ranked: number;
  unranked: number;
  details: Record<string, any>;
  samples: { index: number; label: number | null; score: number | null; models_in: number | null; models_out: number | null }[];
  histogram: { edges: number[]; counts: number[]; chosen: number[] };
}

export type RunStatus = "running" | "done" | "failed" | "diverged" | "cancelled";

export interface Run {
  id: string;
  scenario_id: string;
  method: string;
  hparams: Record<string, unknown>;
  seed: number;
  status: RunStatus;
  reason: string | null;
  cached: boolean;
  created: number;
  finished: number | null;
  run_time_s: number | null;
  steps: number | null;
  samples: number | null;
  metrics: Record<string, number | null>;
  /** Why a metric is null (e.g. MIA-Efficacy when its attacker is at chance). */
  metric_notes?: Record<string, string>;
  /** The metrics Avg. Gap averaged (all four of ua, ra, ta, mia_efficacy unless one was null). */
  avg_gap_keys?: string[] | null;
  /** Request-level warnings ("request unusable: …"). */
  warnings?: string[];
  request_usable?: boolean;
  environment_id?: string | null;
  trained_environment_id?: string | null;
  /** Filled in by the client from the payload's `environments`. */
  environment?: Environment | null;
  trained_environment?: Environment | null;
  /** GET /api/runs/{id} only: per-class accuracies, environment manifests, notes. */
  details?: Record<string, any>;
}

/** The environment manifest stored with every run (details.environment; numerics.manifest()). */
export interface Environment {
  versions?: Record<string, string>;
  platform?: string;
  machine?: string;
  cpu?: string;
  device?: string;
  gpu?: string;
  threads?: { torch?: number; torch_interop?: number };
  determinism?: Record<string, unknown>;
  numerics?: {
    mode?: "portable" | "native" | string;
    portable?: boolean;
    verified?: boolean | null;
    aten_cpu_capability?: string;
    switches?: Record<string, string>;
    notes?: string[];
  };
  data_fingerprint?: string;
  [key: string]: unknown;
}

/** GET /api/scenarios/{id}/seeds: the request over its stored seeds (docs/seeds.md). */
export interface SeedInterval {
  mean: number | null;
  /** null when n < 2: no interval */
  lo: number | null;
  hi: number | null;
  n: number;
}

export interface SeedGroup {
  label: string;
  method: string;
  hparams: Record<string, unknown>;
  reference: boolean;
  seeds: number[];
  done: number;
  run_ids: string[];
  metrics: Record<string, SeedInterval>;
  /** |metric − θ_r's|, each seed to its own θ_r */
  distances: Record<string, SeedInterval>;
}

export interface SeedRanking {
  rank_by: string;
  better: "lower" | "higher";
  level: number;
  ranks: { label: string; rank: number; tied: boolean; mean: number | null }[];
  no_winner: boolean;
  unranked: string[];
  text: string;
}

export interface SeedsPayload {
  scenario_ids: string[];
  seeds: number[];
  level: number;
  metrics: string[];
  groups: SeedGroup[];
  ranking: SeedRanking;
  note: string | null;
}

export interface ScreenPayload {
  scenario: Scenario;
  runs: Run[];
  environments?: Record<string, Environment>;
}

export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface Job {
  id: string;
  status: JobStatus;
  created: number;
  started: number | null;
  finished: number | null;
  request: Record<string, any>;
  /** null until the job's worker has built the data set (the POST returns before that). */
  scenario_id: string | null;
  configs: { method: string; hparams: Record<string, unknown> }[];
  run_ids: string[];
  current: Record<string, any> | null;
  error: string | null;
  cancel_requested: boolean;
  queue_position: number | null;
  events: number;
}

export interface JobEvent {
  id: number;
  type: string;
  job_id: string;
  time: number;
  [key: string]: any;
}

export interface AttackCurve {
  positive: "unlearn" | "retrain";
  thresholds: number[];
  attack_score: number[];
  fpr: number[];
  fnr: number[];
  success_rate: number[];
}

export interface ThresholdChoice {
  strategy: "max_attack_score" | "max_success_rate" | "common_threshold";
  positive: "unlearn" | "retrain";
  threshold: number;
  attack_score: number;
  success_rate: number;
  fpr: number;
  fnr: number;
  other_attack_score?: number | null;
}

export interface AttackSample {
  position: number;
  index: number | null;
  label: number | null;
  value: number;
  retrain_value: number;
  prediction: number;
  retrain_prediction: number;
  risk: number;
  attacked: boolean;
}

export interface AttackResult {
  run_id: string;
  retrain_run_id: string;
  compare_run_id?: string | null;
  feature: "entropy" | "confidence";
  temperature: number;
  range: [number, number];
  privacy_score: number;
  feature_best_score: number;
  curves: AttackCurve[];
  strategies: ThresholdChoice[];
  samples: AttackSample[];
}

export type Split = "train" | "test";
export type Pair = "A~B" | "A~original" | "A~retrain" | "B~original" | "B~retrain";

export interface ModelRef {
  run_id: string;
  method: string;
  hparams: Record<string, unknown>;
}

export interface Instance {
  index: number;
  label: number;
  is_forget: boolean;
  prob_a: number[];
  prob_b: number[];
  pred_a: number;
  pred_b: number;
  category_a: string;
  category_b: string;
}

export interface Comparison {
  version?: string;
  params?: Record<string, unknown>;
  scenario: {
    id: string;
    dataset: string;
    model: string;
    forget: string;
    forget_size: number;
    forget_classes: number[] | null;
    num_classes: number;
    class_names?: string[] | null;
  };
  models: { A: ModelRef; B: ModelRef; original: ModelRef; retrain: ModelRef };
  per_class: Record<Split, { A: (number | null)[]; B: (number | null)[]; diff: (number | null)[]; n: number[] }>;
  prediction_matrices: Record<Split, Record<"A" | "B", { confusion: (number | null)[][]; mean_softmax: (number | null)[][] }>>;
  cka: {
    blocks: string[];
    n: { forget: number; retain: number };
    forget: Partial<Record<Pair, (number | null)[]>>;
    retain: Partial<Record<Pair, (number | null)[]>>;
  };
  embedding: {
    indices: number[];
    labels: number[];
    is_forget: boolean[];
    xy_a: [number, number][];
    xy_b: [number, number][];
  };
  instances: Instance[];
}

/** One audited statistic (AUDIT_VERSION 3): its value over the examples, the null from the paired swap
 * permutation test, p-values for "worse" (p) and "better" (p_better), effect = value − null. */
export interface Stat {
  value: number | null;
  ci?: [number, number] | null;
  null?: number | null;
  null_ci?: [number, number] | null;
  p?: number | null;
  p_better?: number | null;
  effect?: number | null;
  z?: number | null;
  permutations?: number;
  degenerate?: boolean;
}

export interface Audit {
  id: string;
  run_id: string;
  against: string;
  refs: number;
  created: number;
  method?: string;
  ulira?: Record<string, Stat>;
  forgetting_quality?: Stat;
  forgetting_quality_two_sided?: Stat;
  test?: { kind: string; alpha: number; permutations: number; partitions: number };
  klom_min_refs?: number;
  final_score?: { value: number | null; null: number | null };
  klom?: Record<string, Record<string, Stat>>;
  lira?: Record<string, Record<string, Record<string, Stat>>>;
  relearn?: { steps?: number[] | number; heldout_accuracy?: { unlearned: number[]; reference: number[] }; [k: string]: any };
  verdicts?: Record<string, string>;
  [key: string]: any;
}

export interface AuditSamples {
  forget_index?: number[];
  ulira_auc?: (number | null)[];
  challenge_eps?: (number | null)[];
  klom_forget?: (number | null)[];
}

export interface Inputs {
  shape: number[];
  kind: "image" | "signal";
  inputs: number[][];
  labels: number[];
}
