/** Every workflow Braid registers; this barrel is the worker's `workflowsPath`. */
export { toolAgent } from './tool-agent';
export { publishWorkflow } from './publish';
export { mapReduceNode, summarizeCorpus } from './map-reduce';
export { contentPipeline, pipelineChain } from './pipeline';
export { flowHealth } from './flow-health';
