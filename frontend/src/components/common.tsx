import type { ComponentChildren } from "preact";

export function Spinner({ label }: { label?: string }) {
  return (
    <div class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label ?? "Loading…"}</span>
    </div>
  );
}

export function ErrorBox({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <strong>Error:</strong> <span class="error-text">{message}</span>
      {onRetry && <button type="button" class="small" onClick={onRetry}>Retry</button>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}

export function Panel({ title, id, actions, children, help }: {
  title: string; id?: string; actions?: ComponentChildren; children: ComponentChildren; help?: string;
}) {
  return (
    <section class="panel" id={id} data-panel={id}>
      <header class="panel-head">
        <h2 title={help}>{title}</h2>
        {actions && <div class="panel-actions">{actions}</div>}
      </header>
      <div class="panel-body">{children}</div>
    </section>
  );
}

export function Toggle<T extends string>({ value, options, onChange, label, name }: {
  value: T; options: { value: T; label: string; disabled?: boolean; title?: string }[];
  onChange: (v: T) => void; label?: string; name: string;
}) {
  return (
    <div class="toggle" role="radiogroup" aria-label={label ?? name} data-toggle={name}>
      {label && <span class="toggle-label">{label}</span>}
      {options.map((o) => (
        <button type="button" role="radio" aria-checked={o.value === value} class={o.value === value ? "on" : ""}
          disabled={o.disabled} title={o.title} data-value={o.value} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** A floating tooltip positioned at page coordinates (charts set its content on hover). */
export interface TipState { x: number; y: number; html: string }

export function Tooltip({ tip }: { tip: TipState | null }) {
  if (!tip) return null;
  const left = Math.min(tip.x + 14, window.innerWidth - 260);
  return <div class="tooltip" style={{ left: `${left}px`, top: `${tip.y + 14}px` }} dangerouslySetInnerHTML={{ __html: tip.html }} />;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]!));
}

export function Legend({ items }: { items: { label: string; color: string; shape?: "circle" | "square" | "line" | "cross" | "ring"; dash?: string }[] }) {
  return (
    <div class="legend">
      {items.map((it) => (
        <span class="legend-item">
          <svg width="14" height="14" aria-hidden="true">
            {it.shape === "line" ? <line x1="1" x2="13" y1="7" y2="7" stroke={it.color} stroke-width="3" stroke-dasharray={it.dash} />
              : it.shape === "square" ? <rect x="2" y="2" width="10" height="10" fill={it.color} />
              : it.shape === "cross" ? <path d="M3,3L11,11M11,3L3,11" stroke={it.color} stroke-width="2" />
              : it.shape === "ring" ? <circle cx="7" cy="7" r="5" fill="none" stroke={it.color} stroke-width="2" />
              : <circle cx="7" cy="7" r="5" fill={it.color} />}
          </svg>
          {it.label}
        </span>
      ))}
    </div>
  );
}
