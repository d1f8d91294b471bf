/**
 * Every committed history in test/histories/ must replay against today's workflow code; a change
 * that alters the command sequence without patched() fails here before it breaks running workflows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { quietRuntime, workflowBundle } from './helpers';

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('replay', () => {
  it('has committed histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays cleanly', async (file) => {
    quietRuntime();
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: file }, history, file),
    ).resolves.toBeUndefined();
  });

  it('catches a change of command order', async () => {
    quietRuntime();
    const agentHistory = 'ask-showcase.json';
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, agentHistory), 'utf8')));
    const bundle = await workflowBundle(path.join(__dirname, 'fixtures', 'reordered-workflows.ts'));
    const err = await Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'reordered' }, history, agentHistory).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeterminismViolationError);
  });

  it.each([
    ['ensemble-members-reordered.ts', 'the members asked in another order', 'ensemble-judge.json'],
    ['ensemble-judge-changed.ts', 'another judge', 'ensemble-judge.json'],
    ['search-sources-reordered.ts', 'the sources asked in another order', 'search-slow-web-answered.json'],
  ])('catches an unpatched change of a recorded pattern (%s: %s)', async (fixture, _what, file) => {
    quietRuntime();
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    const bundle = await workflowBundle(path.join(__dirname, 'fixtures', fixture));
    const err = await Worker.runReplayHistory({ workflowBundle: bundle, replayName: fixture }, history, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeterminismViolationError);
  });
});
