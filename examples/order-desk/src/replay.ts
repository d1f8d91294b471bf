/**
 * Replays recorded histories of the order desk's workflows against today's code, as CI should
 * before a deploy: a change that would break running workflows fails here.
 *
 *   node dist/replay.js history.json…   (JSON from `temporal workflow show --output json` or fetchHistory)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { BraidWorkerPlugin } from '@braid-agents/braid/worker';

async function main(files: string[]): Promise<void> {
  for (const file of files) {
    const history: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('./workflows'), plugins: [new BraidWorkerPlugin()] },
      history,
      path.basename(file),
    );
    console.log(`replayed ${file}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
