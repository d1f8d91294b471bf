/**
 * All of Braid's activities, built from their dependencies by the worker. Workflows type their
 * proxies with `ReturnType<typeof createActivities>` through `import type`, never importing values.
 */
import { BlobTexts } from '../blobs/content';
import { createActorActivities, type ActorDeps } from './actor';
import { createBatchActivities } from './batch';
import type { BlobStore } from '../blobs/store';
import { createFlowActivities } from './health';
import { createLlmActivities, type LlmDeps } from './llm';
import { createSummarizeActivities } from './summarize';
import { createPublishActivities, type PublishDeps } from './publish';
import { createPipelineActivities } from './pipeline';
import { createSearchActivities } from './search';
import { createToolActivities } from './tools';
import { createSpeculateActivities } from './speculate';
import type { AnswerCache } from '../store/answer-cache';
import { SourceRegistry } from '../search/source';

export type ActivityDeps = LlmDeps &
  PublishDeps &
  Omit<ActorDeps, 'blobs'> & { blobs: BlobStore; sources?: SourceRegistry; answerCache?: AnswerCache };

export const createActivities = (deps: ActivityDeps) => {
  // One cache of stored content for every activity of this worker.
  const texts = new BlobTexts(deps.blobs);
  const llm = createLlmActivities({ ...deps, texts });
  return {
    ...llm,
    ...createToolActivities({ registry: deps.registry, flow: deps.flow, texts }),
    ...createFlowActivities({ flow: deps.flow, models: deps.models }),
    ...createPipelineActivities(),
    ...createPublishActivities({ publishStores: deps.publishStores, texts }),
    ...createSummarizeActivities({
      blobs: deps.blobs,
      llmTurn: llm.llmTurn,
      attempts: deps.flow?.attempts,
      fastModel: deps.models?.fast,
    }),
    ...createBatchActivities({ claude: deps.claude, models: deps.models, blobs: deps.blobs }),
    ...createSpeculateActivities({ registry: deps.registry, answerCache: deps.answerCache }),
    ...createSearchActivities({ sources: deps.sources ?? new SourceRegistry(), llmTurn: llm.llmTurn, attempts: deps.flow?.attempts }),
    ...createActorActivities({ temporal: deps.temporal, shared: deps.shared, blobs: deps.blobs }),
  };
};

export type Activities = ReturnType<typeof createActivities>;
