import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorText } from "../api";

/** One model input as the server gives it: an image ([H, W] or [C, H, W]) or a 1-D signal ([L] or [C, L]). */
export interface InputSample { shape: number[]; kind: "image" | "signal"; data: number[]; label: number }

const cache = new Map<string, InputSample>();
const MAX_PER_REQUEST = 256;

/** Inputs of these training indices (cached per scenario; fetched in chunks the server accepts). */
export async function loadInputs(sid: string, indices: number[], signal?: AbortSignal): Promise<Map<number, InputSample>> {
  const out = new Map<number, InputSample>();
  const missing = [...new Set(indices)].filter((i) => {
    const hit = cache.get(`${sid}:${i}`);
    if (hit) out.set(i, hit);
    return !hit;
  });
  for (let start = 0; start < missing.length; start += MAX_PER_REQUEST) {
    const chunk = missing.slice(start, start + MAX_PER_REQUEST);
    const res = await api.inputs(sid, chunk, signal);
    chunk.forEach((idx, k) => {
      const sample: InputSample = { shape: res.shape, kind: res.kind, data: res.inputs[k], label: res.labels[k] };
      cache.set(`${sid}:${idx}`, sample);
      out.set(idx, sample);
    });
  }
  return out;
}

/** Draw an input on a canvas: images in grey (ink dark) or RGB, signals as lines. `inkOnly` draws a
 * grey image as dark ink on a transparent ground (thumbnails on a coloured cell). */
export function drawInput(canvas: HTMLCanvasElement, s: InputSample, size: number, inkOnly = false): void {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.width = size * dpr;
  canvas.height = size * dpr;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, size, size);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo >= 0 && hi <= 1) { lo = 0; hi = 1; }
  const norm = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0);
  if (s.kind === "image") {
    const [c, h, w] = s.shape.length === 3 ? s.shape : [1, s.shape[0], s.shape[1]];
    const img = document.createElement("canvas");
    img.width = w;
    img.height = h;
    const ictx = img.getContext("2d")!;
    const pixels = ictx.createImageData(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        if (c === 3) {
          const rgb = [0, 1, 2].map((ch) => Math.round(255 * norm(s.data[ch * h * w + p])));
          pixels.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * p);
        } else if (inkOnly) {
          pixels.data.set([20, 24, 32, Math.round(255 * norm(s.data[p]))], 4 * p);
        } else {
          const g = Math.round(255 * (1 - norm(s.data[p])));
          pixels.data.set([g, g, g, 255], 4 * p);
        }
      }
    }
    ictx.putImageData(pixels, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, size, size);
  } else {
    const channels = s.shape.length === 2 ? s.shape[0] : 1;
    const len = s.shape[s.shape.length - 1];
    if (!inkOnly) {
      ctx.fillStyle = "#fafafa";
      ctx.fillRect(0, 0, size, size);
    }
    const colors = ["#2f5d8a", "#c0392b", "#1b7f5f"];
    for (let ch = 0; ch < channels; ch++) {
      ctx.beginPath();
      ctx.strokeStyle = colors[ch % colors.length];
      ctx.lineWidth = size > 60 ? 1.5 : 1;
      for (let i = 0; i < len; i++) {
        const x = 2 + (i / Math.max(1, len - 1)) * (size - 4);
        const y = size - 2 - norm(s.data[ch * len + i]) * (size - 4);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
  }
}

export function InputCanvas({ sample, size }: { sample: InputSample; size: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (ref.current) drawInput(ref.current, sample, size); }, [sample, size]);
  return <canvas ref={ref} class="input-canvas" aria-label={`input, label ${sample.label}`} />;
}

/** The input of one training index, fetched on demand. */
export function InputView({ sid, index, size = 112 }: { sid: string; index: number | null; size?: number }) {
  const [state, setState] = useState<{ sample: InputSample | null; error: string | null }>({ sample: null, error: null });
  useEffect(() => {
    if (index === null) return;
    const ctrl = new AbortController();
    setState({ sample: null, error: null });
    loadInputs(sid, [index], ctrl.signal).then(
      (m) => setState({ sample: m.get(index) ?? null, error: null }),
      (err) => { if (!ctrl.signal.aborted) setState({ sample: null, error: errorText(err) }); },
    );
    return () => ctrl.abort();
  }, [sid, index]);
  if (index === null) return <div class="input-missing">no training index (this data set cannot be rebuilt)</div>;
  if (state.error) return <div class="input-missing" title={state.error}>input unavailable: {state.error}</div>;
  if (!state.sample) return <div class="input-missing" style={{ width: `${size}px`, height: `${size}px` }}>…</div>;
  return <InputCanvas sample={state.sample} size={size} />;
}
