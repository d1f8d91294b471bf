/**
 * Task-queue names. A worker polls its main queue (BRAID_TASK_QUEUE, default `braid`) for workflows,
 * tools and model calls, and beside it an activity-only queue for the model calls of workflows
 * that route them there (the pipeline, when that queue carries a rate limit), so that a server-side
 * rate limit on that queue caps model calls without throttling tools (see worker.ts).
 */

/** The activity-only task queue for model calls beside a worker's main queue. */
export const llmTaskQueue = (taskQueue: string) => `${taskQueue}-llm`;
