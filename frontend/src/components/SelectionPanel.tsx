// How a worst: or memorised: request chose its forget set: a histogram of every training sample's score
// with the cut-off, and the chosen samples with their scores (GET /api/scenarios/{id}/selection).
import { useEffect, useRef, useState } from "preact/hooks";
import { scaleLinear } from "d3-scale";
import { api } from "../api";
import { useAsync, useWidth } from "../hooks";
import { axes, frame } from "../charts/base";
import { ErrorBox, Panel, Spinner } from "./common";
import type { Scenario, SelectionPayload } from "../types";

/** Whether a forget request's indices were chosen by a selector (and so have a stored selection). */
export const isSelected = (forget: string | undefined) => !!forget && /^(worst|memorised):/.test(forget);

const SHOWN = 25;

function ScoreHistogram({ data, width }: { data: SelectionPayload; width: number }) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { edges, counts, chosen } = data.histogram;
    const { g, w, h } = frame(ref.current, width, 180, { top: 10, right: 14, bottom: 40, left: 52 });
    const x = scaleLinear().domain([edges[0], edges[edges.length - 1]]).range([0, w]);
    const y = scaleLinear().domain([0, Math.max(1, ...counts)]).range([h, 0]).nice();
    axes(g, x, y, w, h, { xLabel: data.score, yLabel: "training samples", grid: true });
    const bars = (values: number[], cls: string) =>
      g.append("g").attr("data-series", cls).selectAll("rect").data(values).join("rect")
        .attr("class", cls).attr("x", (_d, i) => x(edges[i]) + 0.5)
        .attr("width", (_d, i) => Math.max(0, x(edges[i + 1]) - x(edges[i]) - 1))
        .attr("y", (d) => y(d)).attr("height", (d) => h - y(d))
        .attr("fill", cls === "chosen" ? "#d62728" : "#7f7f7f").attr("fill-opacity", cls === "chosen" ? 0.8 : 0.4);
    bars(counts, "all");
    bars(chosen, "chosen");
    if (data.cutoff !== null) {
      g.append("line").attr("class", "marker").attr("data-cutoff", String(data.cutoff))
        .attr("x1", x(data.cutoff)).attr("x2", x(data.cutoff)).attr("y1", 0).attr("y2", h);
      g.append("text").attr("class", "marker-label").attr("x", x(data.cutoff) + 4).attr("y", 10)
        .text(`cut-off ${data.cutoff.toFixed(3)}`);
    }
  }, [data, width]);
  return <svg ref={ref} class="chart histogram" role="img" aria-label={`${data.score} of every training sample`} />;
}

export function SelectionPanel({ scenario }: { scenario: Scenario | null }) {
  const sid = scenario && isSelected(scenario.forget) ? scenario.id : null;
  const state = useAsync((signal) => (sid ? api.selection(sid, signal) : null), [sid]);
  const [all, setAll] = useState(false);
  const [ref, width] = useWidth<HTMLDivElement>(560);
  if (!sid) return null;
  const data = state.data;
  const d = data?.details ?? {};
  const how = data?.kind === "memorised"
    ? `Feldman & Zhang memorisation over ${d.k} subset models (${d.members_trained} trained, ${d.members_reused} reused); ${data.unranked} samples had too few models on one side and are not ranked`
    : data ? (d.by === "loss" ? "proxy: θ_o's lowest per-sample loss" : `bi-level search against ${d.method}, ${d.rounds} rounds (Challenging Forgets)`) : "";
  return (
    <Panel title={data ? `Forget set: ${data.size} samples, ${data.chosen} ${data.score}` : "Forget set selection"} id="selection"
      help="How this worst: or memorised: request chose its forget set (docs/scenarios.md)">
      {state.error && <ErrorBox message={state.error} />}
      {!data && !state.error && <Spinner label="Loading the selection…" />}
      {data && <div data-selection={data.kind} ref={ref}>
        <p class="note">{data.forget}: {how}.</p>
        <ScoreHistogram data={data} width={width} />
        <table class="runs selection-samples">
          <thead><tr><th>index</th><th>label</th><th>{data.score}</th>{data.kind === "memorised" && <><th>models IN</th><th>OUT</th></>}</tr></thead>
          <tbody>
            {(all ? data.samples : data.samples.slice(0, SHOWN)).map((s) => (
              <tr data-sample={s.index}>
                <td>{s.index}</td><td>{s.label ?? "–"}</td><td>{s.score === null ? "–" : s.score.toFixed(3)}</td>
                {data.kind === "memorised" && <><td>{s.models_in}</td><td>{s.models_out}</td></>}
              </tr>
            ))}
          </tbody>
        </table>
        {data.samples.length > SHOWN && <button type="button" class="small" onClick={() => setAll(!all)}>
          {all ? `Show the first ${SHOWN}` : `Show all ${data.samples.length}`}</button>}
      </div>}
    </Panel>
  );
}
