/** Every workflow Braid registers; this barrel is the worker's `workflowsPath`. */
export { toolAgent } from './ask';
export { publishWorkflow } from './publish';
export { mapReduceNode, summarizeCorpus } from './summarize';
export { contentPipeline, pipelineChain } from './pipeline';
export { flowHealth } from './health';
export { ensembleItem, modelEnsemble } from './ensemble';
export { actorAgent } from './actor';
export { multiSourceSearch } from './search';
export { speculativeAsk } from './speculate';
