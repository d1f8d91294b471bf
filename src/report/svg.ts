/**
 * The report's picture: a Gantt chart of every branch (waiting part pale, running part solid,
 * critical path outlined) above the fan-out width over time. One self-contained SVG, used alone
 * (`braid report --svg`) and inside the HTML report. Every bar carries data attributes
 * (`data-span-id`, `data-kind`, `data-status`, `data-critical`) so tests and scripts can read it.
 */
import { formatUsd } from '../shared/pricing';
import { runState, type RunReport, type Span, type SpanKind } from './analyze';

export const KIND_COLOURS: Record<SpanKind, string> = {
  model: '#3d6fe0',
  tool: '#1f9d68',
  activity: '#7b8494',
  child: '#8a63d2',
  timer: '#d99a14',
  queue: '#b8bec8',
};

export const KIND_NAMES: Record<SpanKind, string> = {
  model: 'model call',
  tool: 'tool call',
  activity: 'other activity',
  child: 'child workflow',
  timer: 'timer / wait',
  queue: 'waiting for a worker',
};

export const CRITICAL = '#e0452b';

/** Rows drawn at most; the rest are summarised in one line. */
export const MAX_ROWS = 1500;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** "850 ms", "2.4 s", "3 min 05 s", "1 h 05 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A tick step of 1, 2 or 5 × 10^k ms giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = Math.max(1, span / count);
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

export function spanTitle(s: Span, now: number): string {
  const end = s.endedAt ?? now;
  const lines = [
    `${s.label} — ${KIND_NAMES[s.kind]} (${s.type})`,
    `status: ${s.status}${s.attempts > 1 ? `, ${s.attempts} attempts` : ''}`,
  ];
  if (s.startedAt !== undefined && s.kind !== 'queue')
    lines.push(`waited ${duration(s.startedAt - s.scheduledAt)}, ran ${duration(end - s.startedAt)}`);
  else lines.push(`${s.status === 'running' ? 'open for' : 'took'} ${duration(end - s.scheduledAt)}`);
  if (s.usage)
    lines.push(`${s.usage.inputTokens} in / ${s.usage.outputTokens} out tokens${s.usd !== undefined ? `, ${formatUsd(s.usd)}` : ''}`);
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

export function renderSvg(r: RunReport, opts: { width?: number } = {}): string {
  const W = opts.width ?? 1180;
  const labelW = 330;
  const x0 = labelW + 10;
  const x1 = W - 84; // room for "running…" or "✕ failed" after a bar that ends at the right edge
  const rowH = 20;
  const top = 58;
  const critical = new Set(r.criticalPath.ids);
  const rows = r.spans.slice(0, MAX_ROWS);
  const t0 = r.startedAt;
  const tEnd = Math.max(r.endedAt, ...r.spans.map((s) => s.endedAt ?? r.endedAt));
  const span = Math.max(1, tEnd - t0);
  const x = (t: number) => x0 + ((t - t0) / span) * (x1 - x0);
  const ganttH = rows.length * rowH;
  const widthTop = top + ganttH + (r.spans.length > rows.length ? 24 : 0) + 40;
  const widthH = 90;
  const H = widthTop + widthH + 40;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" data-critical-ms="${r.criticalPath.ms}">`,
    `<defs><pattern id="running" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#f0b429"/><rect width="4" height="8" fill="#fbe3a6"/></pattern></defs>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="600">${esc(`${r.workflowType} · ${r.workflowId}`)}</text>`,
    `<text x="12" y="38" fill="#555">${esc(
      `${runState(r)} · ${duration(r.endedAt - r.startedAt)} total · critical path ${duration(r.criticalPath.ms)} · ${r.spans.length} branches · up to ${r.maxWidth} at once`,
    )}</text>`,
  );
  // Time axis: grid lines and labels.
  const step = tickStep(span, 8);
  for (let t = 0; t <= span; t += step) {
    const xx = x(t0 + t).toFixed(1);
    out.push(
      `<line x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${top + ganttH}" stroke="#e6e8ec"/>`,
      `<text x="${xx}" y="${top - 10}" text-anchor="middle" fill="#777" font-size="10">${duration(t)}</text>`,
    );
  }
  rows.forEach((s, i) => {
    const y = top + i * rowH;
    const crit = critical.has(s.id);
    const end = s.endedAt ?? r.endedAt;
    const colour = KIND_COLOURS[s.kind];
    const attrs = `data-span-id="${esc(s.id)}" data-kind="${s.kind}" data-status="${esc(s.status)}" data-critical="${crit}"`;
    if (i % 2 === 1) out.push(`<rect x="0" y="${y}" width="${W}" height="${rowH}" fill="#f7f8fa"/>`);
    const label = `${'  '.repeat(s.depth)}${s.kind === 'child' ? (s.expanded ? '▾ ' : '▸ ') : ''}${s.label}`;
    out.push(
      `<text x="${12 + s.depth * 14}" y="${y + 14}" fill="${crit ? CRITICAL : '#222'}" font-weight="${crit ? 600 : 400}" xml:space="preserve">${esc(
        truncate(label.trimStart(), 46 - s.depth * 2),
      )}</text>`,
    );
    const started = s.startedAt ?? (s.status === 'running' ? undefined : s.scheduledAt);
    const bx = x(s.scheduledAt);
    const bw = Math.max(2, x(end) - bx);
    out.push(`<g class="bar" ${attrs}><title>${esc(spanTitle(s, r.endedAt))}</title>`);
    const fill = s.status === 'running' ? 'url(#running)' : s.kind === 'child' && s.expanded ? 'none' : colour;
    if (started !== undefined && started > s.scheduledAt && s.kind !== 'queue') {
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${y + 5}" width="${Math.max(1, x(started) - bx).toFixed(1)}" height="${rowH - 10}" fill="${colour}" opacity="0.3"/>`,
      );
      const sx = x(started);
      out.push(
        `<rect x="${sx.toFixed(1)}" y="${y + 3}" width="${Math.max(2, x(end) - sx).toFixed(1)}" height="${rowH - 6}" rx="2" fill="${fill}" stroke="${colour}"/>`,
      );
    } else {
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${rowH - 6}" rx="2" fill="${fill}" stroke="${colour}" opacity="${s.kind === 'queue' ? 0.8 : 1}"/>`,
      );
    }
    if (crit)
      out.push(
        `<rect class="critical" x="${(bx - 1).toFixed(1)}" y="${y + 1}" width="${(bw + 2).toFixed(1)}" height="${rowH - 2}" rx="3" fill="none" stroke="${CRITICAL}" stroke-width="2"/>`,
      );
    if (s.status === 'failed' || s.status === 'timed out' || s.status === 'terminated')
      out.push(`<text x="${(bx + bw + 4).toFixed(1)}" y="${y + 14}" fill="#c0392b" font-size="11">✕ ${esc(s.status)}</text>`);
    else if (s.status === 'running')
      out.push(`<text x="${(bx + bw + 4).toFixed(1)}" y="${y + 14}" fill="#9a6b00" font-size="11">running…</text>`);
    else if (s.attempts > 1)
      out.push(`<text x="${(bx + bw + 4).toFixed(1)}" y="${y + 14}" fill="#9a6b00" font-size="11">${s.attempts} attempts</text>`);
    out.push('</g>');
  });
  if (r.spans.length > rows.length)
    out.push(`<text x="12" y="${top + ganttH + 16}" fill="#777">… and ${r.spans.length - rows.length} more branches (in the table)</text>`);
  if (r.running) {
    const nx = x(r.endedAt).toFixed(1);
    out.push(
      `<line x1="${nx}" y1="${top - 6}" x2="${nx}" y2="${top + ganttH}" stroke="#9a6b00" stroke-dasharray="4 3"/>`,
      `<text x="${nx}" y="${top + ganttH + 14}" text-anchor="end" fill="#9a6b00" font-size="10">now</text>`,
    );
  }
  // Fan-out width: open branches over time, a step line.
  const maxN = Math.max(1, r.maxWidth);
  const y = (n: number) => widthTop + widthH - (n / maxN) * widthH;
  out.push(
    `<text x="12" y="${widthTop - 12}" font-weight="600">Fan-out width</text>`,
    `<text x="12" y="${widthTop + 6}" fill="#777" font-size="11">branches open at once (max ${r.maxWidth})</text>`,
    `<line x1="${x0}" y1="${y(0)}" x2="${x1}" y2="${y(0)}" stroke="#ccc"/>`,
    `<text x="${x0 - 6}" y="${y(maxN) + 4}" text-anchor="end" fill="#777" font-size="10">${maxN}</text>`,
    `<text x="${x0 - 6}" y="${y(0) + 4}" text-anchor="end" fill="#777" font-size="10">0</text>`,
  );
  let d = `M${x(t0).toFixed(1)},${y(0).toFixed(1)}`;
  let prev = 0;
  for (const p of r.width) {
    d += ` L${x(p.t).toFixed(1)},${y(prev).toFixed(1)} L${x(p.t).toFixed(1)},${y(p.n).toFixed(1)}`;
    prev = p.n;
  }
  d += ` L${x(tEnd).toFixed(1)},${y(prev).toFixed(1)} L${x(tEnd).toFixed(1)},${y(0).toFixed(1)} Z`;
  out.push(
    `<path id="fanout-width" data-max="${r.maxWidth}" d="${d}" fill="#3d6fe0" fill-opacity="0.18" stroke="#3d6fe0" stroke-width="1.5"/>`,
  );
  // Legend.
  let lx = 12;
  const ly = H - 14;
  for (const k of Object.keys(KIND_COLOURS) as SpanKind[]) {
    out.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${KIND_COLOURS[k]}"/><text x="${lx + 16}" y="${ly}" fill="#444">${KIND_NAMES[k]}</text>`,
    );
    lx += 30 + KIND_NAMES[k].length * 6.2;
  }
  out.push(
    `<rect x="${lx}" y="${ly - 10}" width="14" height="12" fill="none" stroke="${CRITICAL}" stroke-width="2"/><text x="${lx + 18}" y="${ly}" fill="#444">critical path</text>`,
  );
  lx += 110;
  out.push(
    `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="#3d6fe0" opacity="0.3"/><text x="${lx + 16}" y="${ly}" fill="#444">queued / retrying (pale)</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}
