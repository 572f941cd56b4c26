import { useEffect, useRef } from "preact/hooks";
import { scaleBand, scaleLinear } from "d3-scale";
import { max, min } from "d3-array";
import { axes, frame, pagePoint, pct } from "./base";

export interface BarSeries { key: string; label: string; color: string; values: (number | null)[] }

/** Grouped bars: one group per category, one bar per series (per-class accuracy of A and B). */
export function GroupedBars({ categories, series, width, height = 220, yLabel, highlight, onTip, percent = true }: {
  categories: string[]; series: BarSeries[]; width: number; height?: number; yLabel: string;
  highlight?: Set<number>; onTip: (t: { x: number; y: number; html: string } | null) => void; percent?: boolean;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, width, height, { top: 10, right: 10, bottom: 40, left: 52 });
    const x = scaleBand<string>().domain(categories).range([0, w]).padding(0.2);
    const inner = scaleBand<string>().domain(series.map((s) => s.key)).range([0, x.bandwidth()]).padding(0.08);
    const y = scaleLinear().domain([0, percent ? 1 : (max(series.flatMap((s) => s.values), (v) => v ?? 0) || 1)]).range([h, 0]);
    if (highlight) {
      g.append("g").selectAll("rect").data(categories.filter((_, i) => highlight.has(i))).join("rect")
        .attr("class", "forget-band").attr("x", (c) => (x(c) ?? 0) - x.step() * x.padding() / 2).attr("width", x.step())
        .attr("y", 0).attr("height", h);
    }
    axes(g, x, y, w, h, { yLabel, yFormat: percent ? pct : undefined, grid: true, xLabel: "class" });
    series.forEach((s) => {
      g.append("g").attr("data-series", s.key).selectAll("rect").data(s.values.map((v, i) => ({ v, i }))).join("rect")
        .attr("class", "bar")
        .attr("x", (d) => (x(categories[d.i]) ?? 0) + (inner(s.key) ?? 0)).attr("width", inner.bandwidth())
        .attr("y", (d) => y(d.v ?? 0)).attr("height", (d) => h - y(d.v ?? 0)).attr("fill", s.color)
        .on("mousemove", (ev: MouseEvent, d) => onTip({ ...pagePoint(ev), html: `<b>${s.label}</b>, class ${categories[d.i]}: ${d.v === null ? "no samples" : percent ? (d.v * 100).toFixed(1) + " %" : d.v.toFixed(3)}` }))
        .on("mouseleave", () => onTip(null));
    });
  }, [categories, series, width, height, highlight]);
  return <svg ref={ref} class="chart bars" role="img" aria-label={yLabel} />;
}

/** Signed bars around zero (B − A per class). */
export function DiffBars({ categories, values, width, height = 160, label, colorPos, colorNeg, highlight, onTip }: {
  categories: string[]; values: (number | null)[]; width: number; height?: number; label: string;
  colorPos: string; colorNeg: string; highlight?: Set<number>;
  onTip: (t: { x: number; y: number; html: string } | null) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, width, height, { top: 10, right: 10, bottom: 30, left: 52 });
    const x = scaleBand<string>().domain(categories).range([0, w]).padding(0.3);
    const lo = Math.min(-0.05, min(values, (v) => v ?? 0) ?? 0);
    const hi = Math.max(0.05, max(values, (v) => v ?? 0) ?? 0);
    const y = scaleLinear().domain([lo, hi]).range([h, 0]).nice();
    if (highlight) {
      g.append("g").selectAll("rect").data(categories.filter((_, i) => highlight.has(i))).join("rect")
        .attr("class", "forget-band").attr("x", (c) => (x(c) ?? 0) - x.step() * x.padding() / 2).attr("width", x.step())
        .attr("y", 0).attr("height", h);
    }
    axes(g, x, y, w, h, { yLabel: label, yFormat: (v: any) => `${+v > 0 ? "+" : ""}${Math.round(+v * 100)}`, grid: true });
    g.append("line").attr("class", "zero").attr("x1", 0).attr("x2", w).attr("y1", y(0)).attr("y2", y(0));
    g.append("g").attr("data-series", "diff").selectAll("rect").data(values.map((v, i) => ({ v, i }))).join("rect")
      .attr("class", "bar")
      .attr("x", (d) => x(categories[d.i]) ?? 0).attr("width", x.bandwidth())
      .attr("y", (d) => y(Math.max(0, d.v ?? 0))).attr("height", (d) => Math.abs(y(d.v ?? 0) - y(0)))
      .attr("fill", (d) => ((d.v ?? 0) >= 0 ? colorPos : colorNeg))
      .on("mousemove", (ev: MouseEvent, d) => onTip({ ...pagePoint(ev), html: `class ${categories[d.i]}: B − A = ${d.v === null ? "–" : `${d.v >= 0 ? "+" : ""}${(d.v * 100).toFixed(1)} points`}` }))
      .on("mouseleave", () => onTip(null));
  }, [categories, values, width, height, highlight]);
  return <svg ref={ref} class="chart diff" role="img" aria-label={label} />;
}
