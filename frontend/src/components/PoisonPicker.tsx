// The Build view's poison control: poison the training data before θ_o is trained with a registered poison
// (BadNets, Gu et al. 2017: a trigger patch on a share of the samples, relabelled to a target class), so that
// forget `poison` / `poison:F` asks a method to undo it, as in corrective unlearning (Goel et al. 2024); the
// runs then report the trigger's attack success rate (ASR). Off by default: the job then sends no poison.

import type { PoisonInfo } from "../types";

export interface PoisonFields {
  on: boolean;
  /** A registered poison's name (GET /api/options: poisons). */
  kind: string;
  rate: string;
  target: string;
}

/** The form's starting state: off, the first registered poison with its default rate and target. */
export function poisonDefaults(poisons: PoisonInfo[]): PoisonFields {
  const first = poisons[0];
  const param = (name: string, fallback: unknown) => String(first?.params.find((p) => p.name === name)?.default ?? fallback);
  return { on: false, kind: first?.name ?? "badnets", rate: param("rate", 0.1), target: param("target", 0) };
}

/** The job's `poison` ("badnets:0.1,target=0"; null when off) and what is wrong with the fields. `numClasses`:
 * the data set's classes where the server declares them (targets 0..K-1), else targets are only checked >= 0
 * here and against the classes when the job builds the data. */
export function poisonSpec(f: PoisonFields, poisons: PoisonInfo[], numClasses: number | null | undefined):
  { spec: string | null; problems: string[] } {
  if (!f.on) return { spec: null, problems: [] };
  const problems: string[] = [];
  if (!poisons.some((p) => p.name === f.kind)) {
    problems.push(poisons.length ? `poison ${JSON.stringify(f.kind)} is not one of ${poisons.map((p) => p.name).join(", ")}`
      : "this server lists no poisons");
  }
  const rateText = f.rate.trim();
  const rate = Number(rateText);
  if (rateText === "" || !Number.isFinite(rate)) problems.push(`poison rate ${JSON.stringify(rateText)} is not a number; give one in (0, 1), e.g. 0.1`);
  else if (!(rate > 0 && rate < 1)) problems.push(`poison rate ${rateText} is out of range; it must be in (0, 1), e.g. 0.1`);
  const targetText = f.target.trim();
  const range = numClasses ? `0..${numClasses - 1}` : "an integer >= 0";
  if (!/^\d+$/.test(targetText)) problems.push(`poison target ${JSON.stringify(targetText)} is not a class index; give ${range}`);
  else if (numClasses && Number(targetText) >= numClasses) problems.push(`poison target ${targetText} is out of range; it must be in ${range}`);
  // the number as the server will read it (".10" → 0.1): the same spec whatever way it was typed
  return { spec: `${f.kind}:${Number.isFinite(rate) ? rate : rateText},target=${Number(targetText)}`, problems };
}

export function PoisonPicker({ poisons, value, onChange, numClasses, dataset }: {
  poisons: PoisonInfo[];
  value: PoisonFields;
  onChange: (f: PoisonFields) => void;
  numClasses: number | null | undefined;
  dataset: string;
}) {
  const set = (changes: Partial<PoisonFields>) => onChange({ ...value, ...changes });
  const info = poisons.find((p) => p.name === value.kind);
  const targetRange = numClasses ? `0..${numClasses - 1} on ${dataset}` : "a class index";
  return (
    <fieldset class="forget poison" data-poison={value.on ? value.kind : "off"}>
      <legend>
        <label class="check" title={poisons.length ? "" : "this server lists no poisons"}>
          <input type="checkbox" name="poison" checked={value.on} disabled={!poisons.length}
            onChange={(e) => set({ on: (e.target as HTMLInputElement).checked })} /> Poison the training data
        </label>
      </legend>
      {value.on && (
        <>
          <div class="form-grid">
            <label>poison
              <select name="poison-kind" value={value.kind} onChange={(e) => set({ kind: (e.target as HTMLSelectElement).value })}>
                {poisons.map((p) => <option value={p.name} title={p.doc}>{p.name}</option>)}
              </select>
              {info && <small title={info.doc}>{info.paper}</small>}
            </label>
            <label>rate (share of the samples not of the target class)
              <input name="poison-rate" inputMode="decimal" value={value.rate} placeholder="0.1"
                onInput={(e) => set({ rate: (e.target as HTMLInputElement).value })} />
              <small>in (0, 1)</small>
            </label>
            <label>target class (the trigger's label)
              <input name="poison-target" inputMode="numeric" value={value.target} placeholder="0"
                onInput={(e) => set({ target: (e.target as HTMLInputElement).value })} />
              <small>{targetRange}</small>
            </label>
          </div>
          <small>θ_o and θ_r train on the poisoned data (θ_r without the forget set); every run reports the trigger's
            attack success rate (ASR). Forget <code>poison</code> to undo the whole poison, <code>poison:F</code> for the
            share F of it found.</small>
        </>
      )}
    </fieldset>
  );
}

/** The forget field's poison requests, shown while the data is poisoned: every poisoned sample, or a discovered share. */
export function PoisonForget({ kind, share, onKind, onShare }: {
  kind: string;
  share: string;
  onKind: (kind: "poison" | "poison-share") => void;
  onShare: (share: string) => void;
}) {
  return (
    <>
      <label class="radio"><input type="radio" name="forget-kind" value="poison" checked={kind === "poison"} onChange={() => onKind("poison")} />
        every poisoned sample <code>poison</code></label>
      <label class="radio"><input type="radio" name="forget-kind" value="poison-share" checked={kind === "poison-share"} onChange={() => onKind("poison-share")} />
        the discovered share F of them, F in (0, 1] <input name="forget-poison-share" class="short" value={share} disabled={kind !== "poison-share"}
          onInput={(e) => onShare((e.target as HTMLInputElement).value)} placeholder="0.5" /></label>
    </>
  );
}
