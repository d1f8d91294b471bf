/**
 * One real Temporal dev server for the whole test run, started through the SDK's
 * TestWorkflowEnvironment.createLocal with the Temporal CLI Braid resolves (or builds) itself, with
 * its Web UI on a free port (the link tests open the CLI's links there). Test files connect to it by
 * address and isolate themselves with their own task queues. Tests
 * whose workflow time must move fast start their own time-skipping test server, which is fetched
 * here once when it is not cached yet.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { devServerTuningArgs, freePort } from '../src/temporal/dev-server';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';
import { resolveTestServer } from './fixtures/test-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    /** The dev server's Web UI, e.g. http://127.0.0.1:41234. */
    temporalUiUrl: string;
    /** The time-skipping test server's wrapper script (see fixtures/test-server.ts). */
    temporalTestServer: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const path = await resolveTemporalCli({ log: (l) => console.log(l) });
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: true,
      uiPort,
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      log: { format: 'pretty', level: 'error' },
      // The settings `braid server start` uses, so tests run on the server Braid ships.
      extraArgs: devServerTuningArgs({ dbFile: false }),
    },
  });
  project.provide('temporalAddress', env.address);
  project.provide('temporalCli', path);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);
  project.provide(
    'temporalTestServer',
    resolveTestServer((l) => console.log(l)),
  );
  return async () => {
    await env.teardown();
  };
}
