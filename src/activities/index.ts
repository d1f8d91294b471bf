/**
 * All of Braid's activities, built from their dependencies by the worker. Workflows type their
 * proxies with `ReturnType<typeof createActivities>` through `import type`, never importing values.
 */
import { createLlmActivities, type LlmDeps } from './llm';
import { createToolActivities } from './tools';

export type ActivityDeps = LlmDeps;

export const createActivities = (deps: ActivityDeps) => ({
  ...createLlmActivities(deps),
  ...createToolActivities({ registry: deps.registry }),
});

export type Activities = ReturnType<typeof createActivities>;
