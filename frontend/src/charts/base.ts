import { select, type Selection } from "d3-selection";
import { axisBottom, axisLeft, type AxisDomain, type AxisScale } from "d3-axis";

export interface Margin { top: number; right: number; bottom: number; left: number }

export type G = Selection<SVGGElement, unknown, null, undefined>;

/** Clear `svg`, size it and return the plot group translated by the margins. */
export function frame(svg: SVGSVGElement, width: number, height: number, m: Margin): { g: G; w: number; h: number } {
  const root = select(svg);
  root.selectAll("*").remove();
  root.attr("width", width).attr("height", height).attr("viewBox", `0 0 ${width} ${height}`);
  const g = root.append("g").attr("transform", `translate(${m.left},${m.top})`);
  return { g, w: Math.max(10, width - m.left - m.right), h: Math.max(10, height - m.top - m.bottom) };
}

export function axes<X extends AxisDomain, Y extends AxisDomain>(
  g: G, x: AxisScale<X>, y: AxisScale<Y>, w: number, h: number,
  opts: { xLabel?: string; yLabel?: string; xTicks?: number; yTicks?: number; xFormat?: (v: X) => string; yFormat?: (v: Y) => string; grid?: boolean } = {},
): void {
  const xa = axisBottom(x).ticks(opts.xTicks ?? Math.max(2, Math.floor(w / 80)));
  if (opts.xFormat) xa.tickFormat(opts.xFormat as any);
  const ya = axisLeft(y).ticks(opts.yTicks ?? Math.max(2, Math.floor(h / 40)));
  if (opts.yFormat) ya.tickFormat(opts.yFormat as any);
  if (opts.grid) {
    g.append("g").attr("class", "grid").call(axisLeft(y).ticks(opts.yTicks ?? Math.max(2, Math.floor(h / 40))).tickSize(-w).tickFormat(() => "") as any);
  }
  g.append("g").attr("class", "axis x").attr("transform", `translate(0,${h})`).call(xa as any);
  g.append("g").attr("class", "axis y").call(ya as any);
  if (opts.xLabel) {
    g.append("text").attr("class", "axis-label").attr("x", w / 2).attr("y", h + 34).attr("text-anchor", "middle").text(opts.xLabel);
  }
  if (opts.yLabel) {
    g.append("text").attr("class", "axis-label").attr("transform", `translate(-40,${h / 2}) rotate(-90)`)
      .attr("text-anchor", "middle").text(opts.yLabel);
  }
}

export const pct = (v: number) => `${Math.round(v * 100)}%`;

/** Page coordinates of a pointer event, for the floating tooltip. */
export function pagePoint(ev: MouseEvent): { x: number; y: number } {
  return { x: ev.clientX, y: ev.clientY };
}
