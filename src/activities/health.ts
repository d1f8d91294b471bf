/**
 * The flow-control status activity behind `braid health`: the worker that picks it up reports its
 * limiter budgets (shared ones when the backend is Redis) and its circuit breakers.
 */
import { flowSnapshot, type FlowControl, type FlowSnapshot } from '../flow';

export interface FlowActivityDeps {
  flow?: FlowControl;
  models: Record<string, string>;
}

export function createFlowActivities(deps: FlowActivityDeps) {
  return {
    async flowStatus(): Promise<FlowSnapshot | null> {
      return deps.flow ? flowSnapshot(deps.flow, [...new Set(Object.values(deps.models))]) : null;
    },
  };
}
