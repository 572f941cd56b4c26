import { useEffect, useRef } from "preact/hooks";
import { scaleLinear } from "d3-scale";
import { extent } from "d3-array";
import { brush, type D3BrushEvent } from "d3-brush";
import type { Selection } from "d3-selection";
import { frame } from "./base";

/**
 * One model's view of the joint embedding. Two of these (A and B) share `selected` (the brushed
 * instances, highlighted in both), `hovered` (linked hover) and `picked` (the instance panel's).
 * A brush in one clears the other's (`clearToken` changes).
 */
export function Embedding({ xy, colors, isForget, size, title, selected, hovered, picked, clearToken, onBrush, onHover, onPick }: {
  xy: [number, number][]; colors: string[]; isForget: boolean[]; size: number; title: string;
  selected: Set<number> | null; hovered: number | null; picked: number | null; clearToken: number;
  onBrush: (sel: Set<number> | null) => void;
  onHover: (i: number | null, ev?: MouseEvent) => void;
  onPick: (i: number) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  const pts = useRef<Selection<SVGCircleElement, number, SVGGElement, unknown> | null>(null);
  const brushG = useRef<{ g: Selection<SVGGElement, unknown, null, undefined>; b: ReturnType<typeof brush> } | null>(null);
  const cb = useRef({ onBrush, onHover, onPick });
  cb.current = { onBrush, onHover, onPick };

  useEffect(() => {
    if (!ref.current) return;
    const { g, w, h } = frame(ref.current, size, size, { top: 6, right: 6, bottom: 6, left: 6 });
    g.append("rect").attr("class", "plot-bg").attr("width", w).attr("height", h);
    const ex = extent(xy, (p) => p[0]) as [number, number];
    const ey = extent(xy, (p) => p[1]) as [number, number];
    const span = Math.max((ex[1] - ex[0]) || 1, (ey[1] - ey[0]) || 1) * 1.06;
    const cx = (ex[0] + ex[1]) / 2;
    const cy = (ey[0] + ey[1]) / 2;
    const x = scaleLinear().domain([cx - span / 2, cx + span / 2]).range([0, w]);
    const y = scaleLinear().domain([cy - span / 2, cy + span / 2]).range([h, 0]);
    const b = brush().extent([[0, 0], [w, h]]).on("brush end", (ev: D3BrushEvent<unknown>) => {
      if (!ev.sourceEvent) return; // programmatic clear
      const s = ev.selection as [[number, number], [number, number]] | null;
      if (!s) { cb.current.onBrush(null); return; }
      const [[x0, y0], [x1, y1]] = s;
      const inside = new Set<number>();
      xy.forEach((p, i) => {
        const px = x(p[0]);
        const py = y(p[1]);
        if (px >= x0 && px <= x1 && py >= y0 && py <= y1) inside.add(i);
      });
      cb.current.onBrush(inside);
    });
    const bg = g.append("g").attr("class", "brush").call(b as any);
    brushG.current = { g: bg as any, b };
    // forget instances on top, so they stay visible among the retain ones
    const order = xy.map((_, i) => i).sort((i, j) => Number(isForget[i]) - Number(isForget[j]));
    pts.current = g.append("g").attr("class", "points").selectAll<SVGCircleElement, number>("circle").data(order).join("circle")
      .attr("class", (i) => (isForget[i] ? "pt forget" : "pt"))
      .attr("data-i", (i) => i)
      .attr("cx", (i) => x(xy[i][0])).attr("cy", (i) => y(xy[i][1]))
      .attr("r", (i) => (isForget[i] ? 4 : 3)).attr("fill", (i) => colors[i])
      .on("mousemove", (ev: MouseEvent, i) => cb.current.onHover(i, ev))
      .on("mouseleave", () => cb.current.onHover(null))
      .on("click", (_ev: MouseEvent, i) => cb.current.onPick(i));
  }, [xy, colors, isForget, size]);

  useEffect(() => {
    if (!pts.current) return;
    pts.current
      .classed("dim", (i) => selected !== null && !selected.has(i))
      .classed("hot", (i) => i === hovered || i === picked)
      .attr("r", (i) => (i === hovered || i === picked ? 7 : isForget[i] ? 4 : 3));
    pts.current.filter((i) => i === hovered || i === picked).raise();
  }, [selected, hovered, picked, xy, colors, isForget, size]);

  useEffect(() => {
    if (brushG.current && clearToken > 0) brushG.current.g.call(brushG.current.b.move as any, null);
  }, [clearToken]);

  return <svg ref={ref} class="chart embedding" role="img" aria-label={title} />;
}
