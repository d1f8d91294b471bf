/**
 * The run report as one HTML file that needs nothing else: inline CSS, the Gantt SVG, a few lines
 * of script (no network fetches, so it opens from a mail attachment or an air-gapped disk). It shows
 * the run at a glance (time, critical path, width, tokens, cost), where the time went, the chart,
 * the critical path step by step, the tree of child workflows, and every branch in a table.
 */
import { formatUsd, PRICES_CHECKED_ON, savingSources } from '../shared/pricing';
import { counted } from '../shared/content';
import { lostTaskCauses, runState, type RunReport, type Span, type TimeCategory } from './analyze';
import { CRITICAL, duration, esc, KIND_COLOURS, KIND_NAMES, renderSvg } from './svg';

const CATEGORY_NAMES: Record<TimeCategory, string> = {
  model: 'model calls',
  tools: 'tool calls',
  activities: 'other activities (files, stores)',
  worker: 'waiting for a worker (scheduled → started)',
  retries: 'retries (earlier attempts and their backoff)',
  timers: 'timers and waits for a decision',
  children: 'child workflows not expanded',
  running: 'still running (split known when they end)',
};
const CATEGORY_COLOURS: Record<TimeCategory, string> = {
  model: KIND_COLOURS.model,
  tools: KIND_COLOURS.tool,
  activities: KIND_COLOURS.activity,
  worker: KIND_COLOURS.queue,
  retries: '#e07b2b',
  timers: KIND_COLOURS.timer,
  children: KIND_COLOURS.child,
  running: '#f0b429',
};

const CSS = `
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fff;max-width:1240px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#666;margin-bottom:16px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e3e6eb;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:18px}.card span{color:#666;font-size:12px}
.running{color:#9a6b00}.failed{color:#c0392b}.ok{color:#1f7a4d}
table{border-collapse:collapse;font-size:12px;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#f5f6f8;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.critical td:first-child{border-left:3px solid ${CRITICAL}}tr:hover td{background:#f3f6ff}
.bar{display:flex;height:18px;border-radius:4px;overflow:hidden;margin:6px 0 10px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.chart{overflow-x:auto;border:1px solid #e3e6eb;border-radius:8px}.note{color:#666;font-size:12px}
ol.path li{margin:2px 0}ul.tree{list-style:none;padding-left:18px}ul.tree li{margin:2px 0}
svg g.bar.dim{opacity:.15}label{font-size:13px;cursor:pointer}
`;

// Highlights one branch's bar when its table row is pointed at; optionally dims what is off the critical path.
const SCRIPT = `
(function(){
  var bars=document.querySelectorAll('svg g.bar');
  var byId={};bars.forEach(function(b){byId[b.getAttribute('data-span-id')]=b;});
  document.querySelectorAll('tr[data-span-id]').forEach(function(tr){
    var b=byId[tr.getAttribute('data-span-id')];if(!b)return;
    tr.addEventListener('mouseenter',function(){b.style.filter='drop-shadow(0 0 3px #000)';});
    tr.addEventListener('mouseleave',function(){b.style.filter='';});
  });
  var only=document.getElementById('critical-only');
  if(only)only.addEventListener('change',function(){
    bars.forEach(function(b){b.classList.toggle('dim',only.checked&&b.getAttribute('data-critical')!=='true');});
  });
})();
`;

/** Green for done, amber for running, grey for cancelled (a timer a decision made moot), red for the rest. */
const statusClass = (status: string) =>
  status === 'ok' || status === 'continued as new' ? 'ok' : status === 'running' ? 'running' : status === 'cancelled' ? 'note' : 'failed';

const tokens = (n: number) => n.toLocaleString('en-US');

function card(value: string, label: string, cls = ''): string {
  return `<div class="card"><b class="${cls}">${esc(value)}</b><span>${esc(label)}</span></div>`;
}

/** The longest fan-in wait (first branch of a fan-out done to its last), when the run fanned out. */
function fanInCard(r: RunReport): string {
  if (!r.fanIns.length) return '';
  const longest = Math.max(...r.fanIns.map((f) => f.waitMs));
  return `<div class="card" id="fan-in-wait" data-ms="${longest}"><b>${esc(duration(longest))}</b><span>${esc(
    `longest fan-in wait (first branch done to last), of ${r.fanIns.length} fan-out${r.fanIns.length === 1 ? '' : 's'}`,
  )}</span></div>`;
}

/** What the lost workflow tasks cost and, for the causes Braid knows, what to do about them. */
function lostTasksNote(r: RunReport): string {
  const where = [...new Set(r.lostTasks.map((l) => l.workflowId))];
  const shown = where.slice(0, 3).join(', ') + (where.length > 3 ? ` and ${where.length - 3} more` : '');
  const forceClosed = r.lostTasks.some((l) => l.cause === 'FORCE_CLOSE_COMMAND');
  return [
    `${counted(r.lostTasks.length, 'workflow task')} failed or timed out on the server (${lostTaskCauses(r.lostTasks)}) in ${shown}; after each, the worker replayed that workflow's history.`,
    forceClosed
      ? 'FORCE_CLOSE_COMMAND: more results arrived while a workflow task was open than the cluster buffers (history.maximumBufferedEventsBatch, 100 by default). Raise it, or keep 50 or fewer calls in flight per workflow (README: Dev server settings).'
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function timeWent(r: RunReport): string {
  const entries = (Object.entries(r.timeWent) as [TimeCategory, number][]).filter(([, ms]) => ms > 0);
  const total = entries.reduce((s, [, ms]) => s + ms, 0) || 1;
  const bar = entries
    .map(
      ([k, ms]) =>
        `<div title="${esc(CATEGORY_NAMES[k])}: ${duration(ms)}" style="width:${((ms / total) * 100).toFixed(2)}%;background:${CATEGORY_COLOURS[k]}"></div>`,
    )
    .join('');
  const rows = (Object.keys(CATEGORY_NAMES) as TimeCategory[])
    .filter((k) => r.timeWent[k] > 0 || k === 'model' || k === 'worker' || k === 'retries')
    .map(
      (k) =>
        `<tr data-category="${k}"><td><span class="swatch" style="background:${CATEGORY_COLOURS[k]}"></span>${esc(CATEGORY_NAMES[k])}</td><td class="num">${duration(
          r.timeWent[k],
        )}</td><td class="num">${((r.timeWent[k] / total) * 100).toFixed(1)}%</td></tr>`,
    )
    .join('');
  return `<h2>Where the time went</h2>
<p class="note">Branch time, added over branches: ${duration(total)} of branch time in ${duration(r.endedAt - r.startedAt)} of wall time.</p>
<div class="bar" id="time-went">${bar}</div>
<table style="width:auto"><tbody>${rows}
<tr data-category="budget"><td><span class="swatch" style="background:#ddd"></span>waiting for budget (rate limiter)</td><td class="num" colspan="2">not recorded in history: part of the model calls' time</td></tr>
</tbody></table>`;
}

function criticalList(r: RunReport, byId: Map<string, Span>): string {
  const items = r.criticalPath.ids
    .map((id) => {
      const s = byId.get(id)!;
      const d = (s.endedAt ?? r.endedAt) - s.scheduledAt;
      return `<li data-span-id="${esc(id)}" style="margin-left:${s.depth * 20}px">${esc(s.label)} <span class="note">(${KIND_NAMES[s.kind]}, ${duration(d)}${s.status === 'running' ? ', running' : ''})</span></li>`;
    })
    .join('');
  return `<h2>Critical path · ${duration(r.criticalPath.ms)}</h2>
<p class="note">The chain of branches, each scheduled only after the one before it had ended, with the most time in it: what more parallelism cannot shorten.
A branch depends on every branch whose end the workflow had seen when it scheduled it; a child workflow on the path is followed into its own critical path (indented steps).</p>
<ol class="path" id="critical-path" data-ids="${esc(r.criticalPath.ids.join(' '))}">${items}</ol>`;
}

function tree(r: RunReport): string {
  const children = r.spans.filter((s) => s.kind === 'child');
  if (!children.length) return '';
  const under = new Map<string | undefined, Span[]>();
  for (const s of children) under.set(s.parent, [...(under.get(s.parent) ?? []), s]);
  const leaves = (id: string) => r.spans.filter((s) => s.parent === id && s.kind !== 'child' && s.kind !== 'queue');
  const list = (parent: string | undefined): string => {
    const kids = under.get(parent);
    if (!kids) return '';
    return `<ul class="tree">${kids
      .map((s) => {
        const ls = leaves(s.id);
        const detail = s.expanded
          ? `${ls.length} branch${ls.length === 1 ? '' : 'es'} inside`
          : 'history not fetched (over the report’s bound)';
        return `<li data-span-id="${esc(s.id)}"><span class="swatch" style="background:${KIND_COLOURS.child}"></span>${esc(s.label)} <span class="${statusClass(s.status)}">${esc(s.status)}</span> <span class="note">${duration(
          (s.endedAt ?? r.endedAt) - s.scheduledAt,
        )} · ${detail}${s.usage ? ` · ${tokens(s.usage.inputTokens + s.usage.outputTokens)} tokens` : ''}</span>${list(s.id)}</li>`;
      })
      .join('')}</ul>`;
  };
  return `<h2>Tree of child workflows</h2><p class="note">The run and the child workflows it started (map-reduce nodes, pipeline chains, ensemble items), level by level.</p>
<ul class="tree"><li><b>${esc(r.workflowType)}</b> ${esc(r.workflowId)}${list(undefined)}</li></ul>`;
}

/** A child whose branches are in the report shows their sum, muted: the total counts them once, inside. */
function tokenCells(s: Span): string {
  if (!s.usage) return '<td></td><td></td><td></td>';
  const sub = s.kind === 'child' && s.expanded;
  const cls = sub ? 'num note" title="the sum of the branches inside, counted there' : 'num';
  return `<td class="${cls}">${tokens(s.usage.inputTokens)}</td><td class="${cls}">${tokens(s.usage.outputTokens)}</td><td class="num">${
    s.usd !== undefined ? formatUsd(s.usd) : ''
  }</td>`;
}

function branchTable(r: RunReport, critical: Set<string>): string {
  const rows = r.spans
    .map((s) => {
      const end = s.endedAt ?? r.endedAt;
      const wait = s.startedAt !== undefined && s.kind !== 'queue' ? s.startedAt - s.scheduledAt : undefined;
      const ran = s.startedAt !== undefined && s.kind !== 'queue' ? end - s.startedAt : end - s.scheduledAt;
      return `<tr data-span-id="${esc(s.id)}" class="${critical.has(s.id) ? 'critical' : ''}">
<td style="padding-left:${8 + s.depth * 16}px"><span class="swatch" style="background:${KIND_COLOURS[s.kind]}"></span>${esc(s.label)}</td>
<td>${esc(KIND_NAMES[s.kind])}</td><td class="${statusClass(s.status)}">${esc(s.status)}${s.error ? ` <span class="note">${esc(s.error)}</span>` : ''}</td>
<td class="num">${s.attempts}</td><td class="num">${wait === undefined ? '' : duration(wait)}</td><td class="num">${duration(ran)}</td>
<td>${esc(s.model ?? '')}${s.modelAssumed ? ' <span class="note">(assumed)</span>' : ''}</td>
${tokenCells(s)}</tr>`;
    })
    .join('\n');
  return `<h2>Every branch</h2>
<table id="branches"><thead><tr><th>branch</th><th>kind</th><th>status</th><th>attempts</th><th>queued</th><th>ran</th><th>model</th><th>tokens in</th><th>tokens out</th><th>cost</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function renderHtml(r: RunReport, opts: { generatedAt: number }): string {
  const byId = new Map(r.spans.map((s) => [s.id, s]));
  const critical = new Set(r.criticalPath.ids);
  const wall = r.endedAt - r.startedAt;
  const sequential = r.spans
    .filter((s) => s.kind !== 'child' || !s.expanded)
    .reduce((sum, s) => sum + ((s.endedAt ?? r.endedAt) - s.scheduledAt), 0);
  const status = runState(r);
  const assumed = [...new Set(r.spans.filter((s) => s.modelAssumed).map((s) => s.model))];
  const notes = [
    r.running ? `The run is still going: open branches are drawn to ${new Date(r.endedAt).toISOString()} and marked running.` : '',
    r.continuedAs ? `This run continued as new in run ${r.continuedAs}; report that run for what came after.` : '',
    r.childrenNotFetched
      ? `${r.childrenNotFetched} child workflow(s) are drawn as single branches: their histories were not fetched (over the report's bound).`
      : '',
    assumed.length
      ? `History does not name the model of some calls; they are priced as ${assumed.join(', ')} and their cost is marked estimated.`
      : '',
    r.lostTasks.length ? lostTasksNote(r) : '',
    r.cost.unpriced?.length ? `No price is known for ${r.cost.unpriced.join(', ')}: their tokens are counted, their cost is not.` : '',
    `Prices: Braid's table (checked ${PRICES_CHECKED_ON}) with BRAID_MODEL_PRICES on top.`,
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Braid run report · ${r.workflowId}`)}</title><style>${CSS}</style></head>
<body data-workflow-id="${esc(r.workflowId)}" data-run-id="${esc(r.runId)}" data-status="${esc(status)}">
<h1>${esc(r.workflowType)} <span class="note">${esc(r.workflowId)}</span></h1>
<div class="sub">run ${esc(r.runId)} · started ${esc(new Date(r.startedAt).toISOString())} · <span class="${statusClass(status)}">${esc(status)}</span> · report made ${esc(new Date(opts.generatedAt).toISOString())}</div>
<div class="cards">
${card(duration(wall), r.running ? 'so far' : 'wall time')}
${card(duration(r.criticalPath.ms), 'critical path')}
${card(duration(sequential), 'branch time, added up')}
${card(String(r.spans.length), 'branches')}
${card(String(r.maxWidth), 'most at once')}
${fanInCard(r)}
${r.lostTasks.length ? `<div class="card" id="lost-tasks" data-count="${r.lostTasks.length}"><b class="failed">${r.lostTasks.length}</b><span>${esc(`workflow task${r.lostTasks.length === 1 ? '' : 's'} lost (${lostTaskCauses(r.lostTasks)})`)}</span></div>` : ''}
${card(tokens(r.usage.inputTokens + r.usage.outputTokens), `tokens (${tokens(r.usage.inputTokens)} in, ${tokens(r.usage.outputTokens)} out)`)}
${card(formatUsd(r.cost.totalUsd), r.cost.estimatedUsd ? `cost, ${formatUsd(r.cost.estimatedUsd)} of it estimated` : 'cost')}
${r.cost.savedUsd ? card(formatUsd(Math.abs(r.cost.savedUsd)), r.cost.savedUsd > 0 ? `saved (${savingSources(r.cost).join(', ')})` : 'more for cache writes not read') : ''}
</div>
${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${timeWent(r)}
<h2>Timeline</h2>
<p class="note">One row per branch: pale while it waited in the queue or between retries, solid while it ran; the critical path is outlined in red. Point at a bar for its details.
<label><input type="checkbox" id="critical-only"> show only the critical path</label></p>
<div class="chart">${renderSvg(r)}</div>
${criticalList(r, byId)}
${tree(r)}
${branchTable(r, critical)}
<script>${SCRIPT}</script>
</body></html>
`;
}
