import { useEffect, useRef } from "preact/hooks";
import { scaleLinear, scalePoint } from "d3-scale";
import { extent, max, min } from "d3-array";
import { line } from "d3-shape";
import { pointer } from "d3-selection";
import { axes, frame, pagePoint } from "./base";

export interface LineSeries { key: string; label: string; color: string; values: (number | null)[]; dash?: string }

/**
 * Lines over a shared x: categorical (`categories`, e.g. CKA blocks) or numeric (`xs`, e.g.
 * attack thresholds). `marker` draws a vertical line (the chosen threshold); `onPickX` makes the
 * plot clickable (custom threshold).
 */
export function Lines({ series, categories, xs, width, height = 240, xLabel, yLabel, yDomain, marker, markerLabel, onPickX, onTip, yFormat }: {
  series: LineSeries[]; categories?: string[]; xs?: number[]; width: number; height?: number; xLabel: string; yLabel: string;
  yDomain?: [number, number]; marker?: number | null; markerLabel?: string; onPickX?: (i: number) => void;
  onTip: (t: { x: number; y: number; html: string } | null) => void; yFormat?: (v: number) => string;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, width, height, { top: 12, right: 14, bottom: 46, left: 52 });
    const n = categories ? categories.length : xs?.length ?? 0;
    const all = series.flatMap((s) => s.values).filter((v): v is number => v !== null);
    const yd = yDomain ?? [Math.min(0, min(all) ?? 0), Math.max(1, max(all) ?? 1)];
    const y = scaleLinear().domain(yd).range([h, 0]).nice();
    let px: (i: number) => number;
    if (categories) {
      const x = scalePoint<string>().domain(categories).range([0, w]).padding(0.3);
      px = (i) => x(categories[i]) ?? 0;
      axes(g, x, y, w, h, { xLabel, yLabel, grid: true, yFormat });
      if (categories.length > 6) g.selectAll(".axis.x text").attr("transform", "rotate(-25)").attr("text-anchor", "end");
    } else {
      const x = scaleLinear().domain(extent(xs ?? [0, 1]) as [number, number]).range([0, w]);
      px = (i) => x((xs ?? [])[i]);
      axes(g, x, y, w, h, { xLabel, yLabel, grid: true, yFormat });
    }
    for (const s of series) {
      const pts = s.values.map((v, i) => ({ v, i })).filter((d) => d.v !== null) as { v: number; i: number }[];
      g.append("path").attr("class", "series").attr("data-series", s.key).attr("fill", "none").attr("stroke", s.color)
        .attr("stroke-width", 2).attr("stroke-dasharray", s.dash ?? null)
        .attr("d", line<{ v: number; i: number }>().x((d) => px(d.i)).y((d) => y(d.v))(pts) ?? "");
      if (categories) {
        g.append("g").selectAll("circle").data(pts).join("circle").attr("r", 3.5).attr("fill", s.color)
          .attr("cx", (d) => px(d.i)).attr("cy", (d) => y(d.v));
      }
    }
    const hover = g.append("line").attr("class", "hover-line").attr("y1", 0).attr("y2", h).style("display", "none");
    if (marker !== null && marker !== undefined && marker >= 0 && marker < n) {
      g.append("line").attr("class", "marker").attr("x1", px(marker)).attr("x2", px(marker)).attr("y1", 0).attr("y2", h);
      if (markerLabel) g.append("text").attr("class", "marker-label").attr("x", px(marker) + 4).attr("y", 10).text(markerLabel);
    }
    const nearest = (mx: number) => {
      let best = 0;
      let bestD = Infinity;
      for (let i = 0; i < n; i++) {
        const d = Math.abs(px(i) - mx);
        if (d < bestD) { bestD = d; best = i; }
      }
      return best;
    };
    g.append("rect").attr("class", "overlay").attr("width", w).attr("height", h).attr("fill", "transparent")
      .style("cursor", onPickX ? "crosshair" : "default")
      .on("mousemove", (ev: MouseEvent) => {
        const [mx] = pointer(ev);
        const i = nearest(mx);
        hover.style("display", null).attr("x1", px(i)).attr("x2", px(i));
        const head = categories ? categories[i] : `${xLabel} ${(xs ?? [])[i]?.toFixed(3)}`;
        const rows = series.map((s) => `<div><span class="sw" style="background:${s.color}"></span>${s.label}: ${s.values[i] === null || s.values[i] === undefined ? "–" : (s.values[i] as number).toFixed(3)}</div>`).join("");
        onTip({ ...pagePoint(ev), html: `<b>${head}</b>${rows}${onPickX ? "<div class='hint'>click to set the threshold</div>" : ""}` });
      })
      .on("mouseleave", () => { hover.style("display", "none"); onTip(null); })
      .on("click", (ev: MouseEvent) => { if (onPickX) onPickX(nearest(pointer(ev)[0])); });
  }, [series, categories, xs, width, height, marker, yDomain]);
  return <svg ref={ref} class="chart lines" role="img" aria-label={yLabel} />;
}
