import { useEffect, useRef } from "preact/hooks";
import { api } from "../api";
import { useAsync } from "../hooks";
import { COLOR_A, COLOR_B } from "../format";
import { ErrorBox, Panel, Spinner } from "./common";
import type { Gallery, Run, Scenario } from "../types";

/** A generative request (its runs store galleries of samples, not logits). */
export function isGenerative(scenario: Scenario | null | undefined): boolean {
  return scenario?.task === "generation";
}

/** One-line note for views that read a classifier's outputs. */
export function NotForGenerative({ what }: { what: string }) {
  return <p class="note" data-note="generative">{what} reads class probabilities of a classifier, so it does not apply to generation runs; see the galleries of A and B in Screen or Contrast.</p>;
}

const SCALE = 4;

/** One sample drawn pixel for pixel (values in [0, 1], channel-major), enlarged without smoothing. */
export function Sample({ values, shape, title }: { values: number[]; shape: number[]; title: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [c, h, w] = shape;
  useEffect(() => {
    const ctx = ref.current?.getContext("2d");
    if (!ctx) return;
    const img = ctx.createImageData(w, h);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) img.data[4 * p + k] = Math.round(255 * values[(c >= 3 ? k : 0) * h * w + p]);
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [values, c, h, w]);
  return <canvas ref={ref} class="gallery-sample" width={w} height={h} title={title}
    style={{ width: `${w * SCALE}px`, height: `${h * SCALE}px`, imageRendering: "pixelated" }} />;
}

/** The fixed-seed galleries of runs A and B side by side, one row per class, forgotten classes marked.
 *  Every run of a scenario samples from the same noise, so a difference between the rows is the models'. */
export function GalleryPair({ a, b, runs }: { a: string; b: string; runs: Run[] | null }) {
  const ga = useAsync((signal) => api.gallery(a, signal), [a]);
  const gb = useAsync((signal) => api.gallery(b, signal), [b]);
  const label = (id: string) => runs?.find((r) => r.id === id)?.method ?? id;
  const help = "Samples of each class from the same seeds for every run: where A and B differ, the models do. The forgotten class is highlighted; a good unlearner's samples there stop looking like it.";
  let body;
  if (ga.error || gb.error) body = <ErrorBox message={(ga.error ?? gb.error)!} onRetry={() => { ga.reload(); gb.reload(); }} />;
  else if (!ga.data || !gb.data) body = <Spinner label="Loading galleries…" />;
  else body = <GalleryTable A={ga.data} B={gb.data} />;
  return (
    <Panel title={`Samples: A (${label(a)}) and B (${label(b)})`} id="gallery" help={help}>
      {body}
    </Panel>
  );
}

function GalleryTable({ A, B }: { A: Gallery; B: Gallery }) {
  return (
    <table class="gallery" data-ready>
      <thead><tr><th>class</th><th style={{ color: COLOR_A }}>A: {A.method}</th><th style={{ color: COLOR_B }}>B: {B.method}</th></tr></thead>
      <tbody>
        {A.classes.map((ca) => {
          const cb = B.classes.find((k) => k.label === ca.label);
          return (
            <tr key={ca.label} data-class={ca.label} data-forgotten={ca.forgotten ? "true" : undefined}
              class={ca.forgotten ? "gallery-forgotten" : undefined}
              style={ca.forgotten ? { background: "#fde8e8", outline: "2px solid #c0392b" } : undefined}>
              <th>{ca.name}{ca.forgotten ? " (forgotten)" : ""}</th>
              <td data-model="A">{ca.images.map((v, i) => <Sample key={i} values={v} shape={A.shape} title={`A: ${A.method}, class ${ca.name}, sample ${i + 1}`} />)}</td>
              <td data-model="B">{(cb?.images ?? []).map((v, i) => <Sample key={i} values={v} shape={B.shape} title={`B: ${B.method}, class ${ca.name}, sample ${i + 1}`} />)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
