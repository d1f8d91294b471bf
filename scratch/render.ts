import fs from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { chromium } from 'playwright-core';
import { analyzeRun, childRunsOf, type FetchedRun } from '../src/report/analyze';
import { renderHtml } from '../src/report/html';
const dir = '/work/wt/report/test/histories';
const load = (f: string) => historyFromJSON(JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8')));
async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  for (const name of process.argv.slice(2)) {
    const history = load(name + '.json');
    const children = new Map<string, FetchedRun>();
    for (const c of childRunsOf(history)) {
      const f = `${name}--${c.workflowId.slice(c.workflowId.lastIndexOf('/') + 1)}.json`;
      if (fs.existsSync(`${dir}/${f}`)) children.set(c.workflowId, { ...c, history: load(f), children: new Map() });
    }
    const r = analyzeRun({ workflowId: name, runId: 'r', history, children }, { now: Date.now(), assumedModel: 'claude-haiku-4-5' });
    fs.writeFileSync(`scratch/${name}.html`, renderHtml(r, { generatedAt: Date.now() }));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errs: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errs.push(m.text()));
    page.on('pageerror', (e) => errs.push(String(e)));
    await page.goto('file://' + fs.realpathSync(`scratch/${name}.html`));
    await page.screenshot({ path: `scratch/${name}.png`, fullPage: true });
    console.log(name, errs);
  }
  await browser.close();
}
void main();
