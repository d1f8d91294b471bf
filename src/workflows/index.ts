/** Every workflow Braid registers; this barrel is the worker's `workflowsPath`. */
export { toolAgent } from './tool-agent';
