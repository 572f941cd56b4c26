import { useEffect, useRef } from "preact/hooks";
import { scaleBand, scaleSequential } from "d3-scale";
import { interpolateBlues } from "d3-scale-chromatic";
import { axisLeft, axisTop } from "d3-axis";
import { frame, pagePoint } from "./base";

/** A K × K matrix (row = true class, column = predicted class), values in [0, 1]. */
export function Heatmap({ matrix, labels, size, title, highlightRows, onTip }: {
  matrix: (number | null)[][]; labels: string[]; size: number; title: string;
  highlightRows?: Set<number>; onTip: (t: { x: number; y: number; html: string } | null) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const k = labels.length;
    const m = { top: 34, right: 6, bottom: 8, left: 42 };
    const { g, w, h } = frame(ref.current, size, size, m);
    const x = scaleBand<string>().domain(labels).range([0, w]).padding(0.03);
    const y = scaleBand<string>().domain(labels).range([0, h]).padding(0.03);
    const color = scaleSequential(interpolateBlues).domain([0, 1]);
    const cells: { r: number; c: number; v: number | null }[] = [];
    for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) cells.push({ r, c, v: matrix[r]?.[c] ?? null });
    g.append("g").selectAll("rect").data(cells).join("rect")
      .attr("class", "cell")
      .attr("x", (d) => x(labels[d.c]) ?? 0).attr("y", (d) => y(labels[d.r]) ?? 0)
      .attr("width", x.bandwidth()).attr("height", y.bandwidth())
      .attr("fill", (d) => (d.v === null ? "#eee" : color(d.v)))
      .on("mousemove", (ev: MouseEvent, d) => onTip({ ...pagePoint(ev), html: `<b>${title}</b><br>true ${labels[d.r]} → predicted ${labels[d.c]}: ${d.v === null ? "no samples" : (d.v * 100).toFixed(1) + " %"}` }))
      .on("mouseleave", () => onTip(null));
    if (k <= 12 && x.bandwidth() > 20) {
      g.append("g").selectAll("text").data(cells.filter((d) => d.v !== null && d.v >= 0.005)).join("text")
        .attr("class", "cell-text").attr("x", (d) => (x(labels[d.c]) ?? 0) + x.bandwidth() / 2)
        .attr("y", (d) => (y(labels[d.r]) ?? 0) + y.bandwidth() / 2 + 4).attr("text-anchor", "middle")
        .attr("fill", (d) => ((d.v ?? 0) > 0.55 ? "#fff" : "#223"))
        .text((d) => ((d.v ?? 0) >= 0.995 ? "1" : (d.v ?? 0).toFixed(2).replace(/^0/, "")));
    }
    if (highlightRows) {
      g.append("g").selectAll("rect").data([...highlightRows]).join("rect").attr("class", "row-mark")
        .attr("x", 0).attr("width", w).attr("y", (r) => y(labels[r]) ?? 0).attr("height", y.bandwidth());
    }
    g.append("g").attr("class", "axis").call(axisTop(x).tickSizeOuter(0) as any);
    g.append("g").attr("class", "axis").call(axisLeft(y).tickSizeOuter(0) as any);
    g.append("text").attr("class", "axis-label").attr("x", w / 2).attr("y", -22).attr("text-anchor", "middle").text("predicted");
    g.append("text").attr("class", "axis-label").attr("transform", `translate(-30,${h / 2}) rotate(-90)`).attr("text-anchor", "middle").text("true");
  }, [matrix, labels, size, highlightRows]);
  return <svg ref={ref} class="chart heatmap" role="img" aria-label={title} />;
}
