import { useEffect, useRef } from "preact/hooks";
import { scaleLinear, scaleSqrt } from "d3-scale";
import { extent, max } from "d3-array";
import { line, symbol, symbolDiamond, symbolStar } from "d3-shape";
import { select } from "d3-selection";
import { axes, frame, pagePoint } from "./base";
import { COLOR_A, COLOR_B } from "../format";
import { goodness, type Direction } from "../tradeoffAxes";

/** Points closer than this (px) are drawn on top of each other: the tooltip lists them all. */
const SAME_SPOT_PX = 3;

export interface TradeoffPoint {
  id: string;
  x: number;
  y: number;
  size: number | null;
  color: string;
  reference: "original" | "retrain" | null;
  pareto: boolean;
  tip: string;
  /** Over seeds: the interval of the mean on each axis (drawn as error bars), null where n < 2. */
  xErr?: [number, number] | null;
  yErr?: [number, number] | null;
  /** Over seeds: the method (and setting) label the point stands for. */
  group?: string;
}

/** Half-length (px) of an error bar's end caps. */
const CAP_PX = 4;

/** Indices of the points no other point beats on both axes (ties kept), in x order; each axis is
 * read in its direction (higher, lower, or closer to a target value). */
export function paretoFront(points: { x: number; y: number }[], xBetter: Direction, yBetter: Direction): number[] {
  const g = points.map((p) => ({ x: goodness(xBetter, p.x), y: goodness(yBetter, p.y) }));
  const front: number[] = [];
  g.forEach((p, i) => {
    const dominated = g.some((q, j) => j !== i && q.x >= p.x && q.y >= p.y && (q.x > p.x || q.y > p.y));
    if (!dominated) front.push(i);
  });
  return front.sort((i, j) => points[i].x - points[j].x || points[i].y - points[j].y);
}

export function TradeoffScatter({ points, width, height = 360, xLabel, yLabel, xFormat, yFormat, xUnit = false, yUnit = false, a, b, onPick, onTip }: {
  points: TradeoffPoint[]; width: number; height?: number; xLabel: string; yLabel: string; xUnit?: boolean; yUnit?: boolean;
  xFormat: (v: number) => string; yFormat: (v: number) => string; a: string | null; b: string | null;
  onPick: (id: string, which: "A" | "B") => void;
  onTip: (tip: { x: number; y: number; html: string } | null) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, width, height, { top: 12, right: 16, bottom: 44, left: 56 });
    // the bars' ends stay inside the plot
    const xs = extent(points.flatMap((p) => [p.x, ...(p.xErr ?? [])])) as [number, number];
    const ys = extent(points.flatMap((p) => [p.y, ...(p.yErr ?? [])])) as [number, number];
    const pad = (e: [number, number]) => {
      if (e[0] === undefined) return [0, 1];
      const span = e[1] - e[0] || Math.abs(e[0]) * 0.1 || 0.05;
      return [e[0] - span * 0.08, e[1] + span * 0.08];
    };
    // fractions (accuracies, scores) never leave [0, 1]: keep the padding inside it
    const clamp = (d: number[], unit: boolean) => (unit ? [Math.max(0, d[0]), Math.min(1, d[1])] : d);
    const x = scaleLinear().domain(clamp(pad(xs), xUnit)).range([0, w]).nice();
    const y = scaleLinear().domain(clamp(pad(ys), yUnit)).range([h, 0]).nice();
    const maxSize = max(points, (p) => p.size ?? 0) || 1;
    const r = scaleSqrt().domain([0, maxSize]).range([3, 13]);
    axes(g, x, y, w, h, { xLabel, yLabel, xFormat, yFormat, grid: true });

    const front = points.filter((p) => p.pareto).sort((p, q) => p.x - q.x || p.y - q.y);
    if (front.length > 1) {
      g.append("path").attr("class", "pareto-line")
        .attr("d", line<TradeoffPoint>().x((p) => x(p.x)).y((p) => y(p.y))(front) ?? "");
    }
    // error bars under the points: the interval of each mean, on both axes
    const bars = g.append("g").attr("class", "errbars").selectAll("g.errbar")
      .data(points.filter((p) => p.xErr || p.yErr), (d: any) => d.id).join("g")
      .attr("class", "errbar").attr("data-group", (p) => p.group ?? null).attr("data-run", (p) => p.id)
      .attr("stroke", (p) => p.color);
    // an end beyond the plot (a fraction's interval reaching below 0) stops at its edge, without a cap
    const within = (v: number, d: number[]) => Math.min(Math.max(v, Math.min(d[0], d[1])), Math.max(d[0], d[1]));
    const ends = (e: [number, number], d: number[]) => e.map((v) => ({ v: within(v, d), cap: within(v, d) === v }));
    bars.each(function (p) {
      const sel = select(this as SVGGElement);
      const [px, py] = [x(p.x), y(p.y)];
      if (p.xErr) {
        const [l, u] = ends(p.xErr, x.domain());
        const caps = [l, u].filter((e) => e.cap).map((e) => `M${x(e.v)},${py - CAP_PX}V${py + CAP_PX}`).join("");
        sel.append("path").attr("class", "errbar-x").attr("d", `M${x(l.v)},${py}H${x(u.v)}${caps}`);
      }
      if (p.yErr) {
        const [l, u] = ends(p.yErr, y.domain());
        const caps = [l, u].filter((e) => e.cap).map((e) => `M${px - CAP_PX},${y(e.v)}H${px + CAP_PX}`).join("");
        sel.append("path").attr("class", "errbar-y").attr("d", `M${px},${y(l.v)}V${y(u.v)}${caps}`);
      }
    });
    // runs drawn at one spot (e.g. the same configuration run twice): each knows its companions
    const px = points.map((p) => [x(p.x), y(p.y)]);
    const together = points.map((_, i) => points.filter((_q, j) => Math.hypot(px[i][0] - px[j][0], px[i][1] - px[j][1]) < SAME_SPOT_PX));
    const nodes = g.append("g").selectAll("g.pt").data(points, (d: any) => d.id).join("g")
      .attr("class", (p) => `pt${p.pareto ? " pareto" : ""}${p.reference ? " ref" : ""}`)
      .attr("data-run", (p) => p.id)
      .attr("data-group", (p) => p.group ?? null)
      .attr("data-stack", (_p, i) => (together[i].length > 1 ? together[i].length : null))
      .attr("transform", (p) => `translate(${x(p.x)},${y(p.y)})`)
      .style("cursor", "pointer");
    nodes.each(function (p, i) {
      const sel = select(this as SVGGElement);
      const size = p.size === null ? 4 : r(p.size);
      if (p.reference) {
        sel.append("path").attr("d", symbol(p.reference === "retrain" ? symbolStar : symbolDiamond, size * size * 3.2)())
          .attr("fill", p.color).attr("stroke", "#222").attr("stroke-width", 1);
        sel.append("text").attr("class", "ref-label").attr("x", size + 4).attr("y", 4).text(p.reference === "retrain" ? "θ_r" : "θ_o");
      } else {
        sel.append("circle").attr("r", size).attr("fill", p.color).attr("fill-opacity", 0.75)
          .attr("stroke", p.pareto ? "#111" : "#fff").attr("stroke-width", p.pareto ? 1.6 : 1);
      }
      if (p.id === a || p.id === b) {
        sel.append("circle").attr("r", size + 4).attr("fill", "none")
          .attr("stroke", p.id === a ? COLOR_A : COLOR_B).attr("stroke-width", 2.5);
        sel.append("text").attr("class", "pick-label").attr("x", -size - 6).attr("y", -size - 2)
          .attr("fill", p.id === a ? COLOR_A : COLOR_B).text(p.id === a && p.id === b ? "A=B" : p.id === a ? "A" : "B");
      }
      // the last of a stack is drawn on top: it carries the count
      if (together[i].length > 1 && together[i][together[i].length - 1] === p) {
        sel.append("text").attr("class", "stack-label").attr("x", size + 3).attr("y", -size).text(`×${together[i].length}`);
      }
    });
    const tipOf = (p: TradeoffPoint) => {
      const all = together[points.indexOf(p)];
      const head = all.length > 1 ? `<div class="tip-head">${all.length} runs at this point</div>` : "";
      return head + all.map((q) => `<div class="tip-run" data-tip-run="${q.id}">${q.tip}</div>`).join("")
        + `<div class='hint'>click: model A · shift-click: model B${all.length > 1 ? " (the top one; pick others in the table)" : ""}</div>`;
    };
    nodes.on("mousemove", (ev: MouseEvent, p) => onTip({ ...pagePoint(ev), html: tipOf(p) }))
      .on("mouseleave", () => onTip(null))
      .on("click", (ev: MouseEvent, p) => onPick(p.id, ev.shiftKey || ev.altKey ? "B" : "A"))
      .on("contextmenu", (ev: MouseEvent, p) => { ev.preventDefault(); onPick(p.id, "B"); });
  }, [points, width, height, xLabel, yLabel, xUnit, yUnit, a, b]);
  return <svg ref={ref} class="chart tradeoff" role="img" aria-label={`Trade-off: ${yLabel} against ${xLabel}`} />;
}
