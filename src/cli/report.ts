/**
 * `braid report <workflowId>`: a run's report from its history alone — one self-contained HTML file
 * (`--out`) and/or the timeline as one SVG picture (`--svg`). Works for any workflow kind, finished
 * or running; the analysis is src/report/analyze.ts, the drawing src/report/svg.ts and html.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { config } from '../config';
import { analyzeRun, lostTaskCauses, runState } from '../report/analyze';
import { fetchRun } from '../report/fetch';
import { renderHtml } from '../report/html';
import { duration, renderSvg } from '../report/svg';
import { counted } from '../shared/content';
import { formatUsd } from '../shared/pricing';
import { UsageError } from './errors';
import { withSession } from './session';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ReportOptions {
  run?: string;
  out?: string;
  svg?: string;
  model?: string;
}

/** Refuses, before any work, a path that cannot be written: a directory, or a folder that is missing or read-only. */
function checkWritable(file: string, flag: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) throw new UsageError(`${flag} ${file} is a directory; name a file`);
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(stat ? file : dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`cannot write ${flag} ${file}: ${fs.existsSync(dir) ? 'permission denied' : `no such directory ${dir}`}`);
  }
}

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'write a run report from its history: timeline of every branch, critical path, fan-out width, where the time went, tokens and cost',
    )
    .argument('<workflowId>', 'the run to report (finished or running, any kind)')
    .option('--run <runId>', 'a particular run of that workflow id (default: the latest)')
    .option('--out <file.html>', 'write the report as one self-contained HTML file')
    .option('--svg <file.svg>', 'write the timeline and fan-out width as one SVG picture')
    .option('--model <id>', 'price model calls whose history names no model (summarize) as this model (default: BRAID_FAST_MODEL)')
    .addHelpText(
      'after',
      '\nThe report reads only Temporal history (the run and up to 300 child workflows), so it needs no worker.\nExample: braid report ask-20261201-abc123 --out report.html --svg timeline.svg',
    )
    .action((workflowId: string, o: ReportOptions) => {
      if (!o.out && !o.svg) throw new UsageError('say where to write the report: --out <file.html> and/or --svg <file.svg>');
      if (o.run !== undefined && !RUN_ID.test(o.run))
        throw new UsageError(`--run ${o.run} is not a run id (a UUID, as \`braid runs --json\` shows)`);
      if (o.out) checkWritable(o.out, '--out');
      if (o.svg) checkWritable(o.svg, '--svg');
      const cfg = config();
      return withSession({ worker: 'none' }, async ({ client }) => {
        const fetched = await fetchRun(client, workflowId, o.run);
        const now = Date.now();
        const report = analyzeRun(fetched, { now, prices: cfg.prices, assumedModel: o.model ?? cfg.models.fast });
        if (o.out) fs.writeFileSync(o.out, renderHtml(report, { generatedAt: now }));
        if (o.svg) fs.writeFileSync(o.svg, renderSvg(report));
        const written = [o.out, o.svg].filter(Boolean).join(' and ');
        console.log(
          `${workflowId}: ${runState(report)}, ${report.spans.length} branches, critical path ${duration(report.criticalPath.ms)} of ${duration(
            report.endedAt - report.startedAt,
          )}, up to ${report.maxWidth} at once, ${formatUsd(report.cost.totalUsd)}${
            report.lostTasks.length
              ? `, ${counted(report.lostTasks.length, 'workflow task')} lost (${lostTaskCauses(report.lostTasks)})`
              : ''
          } — wrote ${written}`,
        );
      });
    });
}
