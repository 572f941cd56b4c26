// The Build view's group picker: on a data set with groups (persons: olivetti), the groups a job with this
// seed would train on, to fill `group:G[,G...]` (forget every sample of those persons; Choi & Na 2023,
// MUFAC). Data without groups: nothing is shown.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { useAsync } from "../hooks";
import type { GroupCount } from "../types";

/** NAME[:key=value,...] from the form's data set and its non-empty parameter fields (as a job's dataset field). */
export function datasetSpec(name: string, params: Record<string, string>): string {
  const parts = Object.entries(params).filter(([, v]) => v.trim() !== "").map(([k, v]) => `${k}=${v.trim()}`);
  return parts.length ? `${name}:${parts.join(",")}` : name;
}

export function GroupPicker({ dataset, seed, active, selected, onActivate, onSelect, onAvailable, holdOut }: {
  /** The data set as the job will name it, e.g. "olivetti:unseen=8". */
  dataset: string;
  /** Whether the data set takes unseen=N (hold out N groups). */
  holdOut: boolean;
  seed: string;
  active: boolean;
  selected: string[];
  onActivate: () => void;
  onSelect: (groups: string[]) => void;
  /** Called with whether the data set has groups to forget (false also while it cannot be read). */
  onAvailable: (has: boolean) => void;
}) {
  // typing "unseen=12" passes through "unseen=1": wait for a pause before asking the server
  const [asked, setAsked] = useState({ dataset, seed });
  useEffect(() => {
    const t = setTimeout(() => setAsked({ dataset, seed }), 300);
    return () => clearTimeout(t);
  }, [dataset, seed]);
  useEffect(() => () => onAvailable(false), []);  // unmounted (files missing, a CLI-only set): no groups to pick
  const valid = /^\d+$/.test(asked.seed.trim());
  const groups = useAsync((signal) => (valid ? api.datasetGroups(asked.dataset, Number(asked.seed), signal) : null),
    [asked.dataset, asked.seed]);
  // the last answer is for another data set while the next one loads: show none of it
  const name = (spec: string) => spec.split(":", 1)[0];
  const current = groups.data && name(groups.data.dataset) === name(dataset) ? groups.data : null;
  const all = current?.groups ?? [];
  const trained = all.filter((g) => g.train > 0);
  const unseen = all.filter((g) => g.train === 0);
  useEffect(() => {
    if (groups.loading && current) return;
    onAvailable(trained.length > 0);
    const keep = selected.filter((s) => trained.some((g) => g.group === s));
    if (keep.length !== selected.length) onSelect(keep);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current, groups.error, groups.loading]);

  if (!trained.length) {
    // a data set that once had groups but cannot be read now (unseen too large): say why; others show nothing
    return groups.error && /unseen/.test(groups.error)
      ? <small class="missing" data-groups-error>groups: {groups.error}</small> : null;
  }
  const order = (token: string) => all.findIndex((g) => g.group === token);
  const toggle = (g: GroupCount, on: boolean) => {
    onActivate();
    onSelect(on ? [...selected, g.group].sort((a, b) => order(a) - order(b)) : selected.filter((s) => s !== g.group));
  };
  return (
    <div class="group-picker" data-groups={trained.length}>
      <label class="radio"><input type="radio" name="forget-kind" checked={active} onChange={onActivate} />
        groups (every sample of a person) <code>{selected.length ? `group:${selected.join(",")}` : "group:…"}</code></label>
      <div class="group-list" role="group" aria-label="groups to forget">
        {trained.map((g) => (
          <label class="check" title={`group ${g.group}: ${g.train} training, ${g.test} test samples`}>
            <input type="checkbox" name="forget-group" value={g.group} checked={selected.includes(g.group)}
              onChange={(e) => toggle(g, (e.target as HTMLInputElement).checked)} />
            {g.group} <small class="dim">{g.train}</small>
          </label>
        ))}
      </div>
      <small class="dim">
        {trained.length} groups trained on (number: training samples){unseen.length
          ? `; ${unseen.length} unseen (test only, the identity MIA's strangers): ${unseen.map((g) => g.group).join(", ")}` : ""}
        {!unseen.length && holdOut ? "; set unseen=N to hold out N groups for the identity MIA and NoMUS" : ""}
      </small>
    </div>
  );
}
