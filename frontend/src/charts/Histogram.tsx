import { useEffect, useRef } from "preact/hooks";
import { scaleLinear } from "d3-scale";
import { bin, max } from "d3-array";
import { axes, frame, pagePoint } from "./base";

/** Two overlaid histograms (θ_u's and θ_r's feature values on D_f) and the threshold. */
export function Histogram({ a, b, labelA, labelB, colorA, colorB, range, threshold, width, height = 200, xLabel, onTip }: {
  a: number[]; b: number[]; labelA: string; labelB: string; colorA: string; colorB: string;
  range: [number, number]; threshold: number | null; width: number; height?: number; xLabel: string;
  onTip: (t: { x: number; y: number; html: string } | null) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, width, height, { top: 10, right: 14, bottom: 44, left: 52 });
    const x = scaleLinear().domain(range).range([0, w]);
    const binner = bin().domain(range).thresholds(x.ticks(30));
    const ba = binner(a);
    const bb = binner(b);
    const y = scaleLinear().domain([0, Math.max(max(ba, (d) => d.length) ?? 1, max(bb, (d) => d.length) ?? 1)]).range([h, 0]).nice();
    axes(g, x, y, w, h, { xLabel, yLabel: "forget samples", grid: true });
    const draw = (bins: typeof ba, color: string, key: string, label: string) =>
      g.append("g").attr("data-series", key).selectAll("rect").data(bins).join("rect")
        .attr("x", (d) => x(d.x0 ?? 0) + 0.5).attr("width", (d) => Math.max(0, x(d.x1 ?? 0) - x(d.x0 ?? 0) - 1))
        .attr("y", (d) => y(d.length)).attr("height", (d) => h - y(d.length))
        .attr("fill", color).attr("fill-opacity", 0.45).attr("stroke", color)
        .on("mousemove", (ev: MouseEvent, d) => onTip({ ...pagePoint(ev), html: `<b>${label}</b>: ${d.length} samples in [${(d.x0 ?? 0).toFixed(2)}, ${(d.x1 ?? 0).toFixed(2)})` }))
        .on("mouseleave", () => onTip(null));
    draw(bb, colorB, "retrain", labelB);
    draw(ba, colorA, "unlearned", labelA);
    if (threshold !== null) {
      g.append("line").attr("class", "marker").attr("x1", x(threshold)).attr("x2", x(threshold)).attr("y1", 0).attr("y2", h);
      g.append("text").attr("class", "marker-label").attr("x", x(threshold) + 4).attr("y", 10).text(`θ = ${threshold.toFixed(3)}`);
    }
  }, [a, b, range, threshold, width, height]);
  return <svg ref={ref} class="chart histogram" role="img" aria-label={`${xLabel} distributions`} />;
}
