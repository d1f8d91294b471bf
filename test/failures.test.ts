/** Reading failure chains for people (src/shared/failures.ts), as workflows and the CLI see them. */
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureMessage, timedOut } from '../src/shared/failures';

const activityFailed = (cause: Error) =>
  new ActivityFailure('Activity task failed', 'runTool', '3', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);
const childFailed = (cause: Error) =>
  new ChildWorkflowFailure('default', { workflowId: 'w/chain-1', runId: 'r' }, 'pipelineChain', RetryState.NON_RETRYABLE_FAILURE, cause);

describe('failureMessage', () => {
  const inner = ApplicationFailure.create({ message: 'the search index rejected the report\nstack-ish detail', type: 'IndexRejected' });

  it("reads the activity's own error under its ActivityFailure", () => {
    expect(failureMessage(activityFailed(inner))).toBe('the search index rejected the report\nstack-ish detail');
  });

  it("reads a child's innermost error through the child and activity layers, with its type when asked", () => {
    const chain = new WorkflowFailedError(
      'Workflow execution failed',
      childFailed(activityFailed(inner)),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(failureMessage(chain, { withType: true })).toBe('the search index rejected the report\nstack-ish detail (IndexRejected)');
  });

  it('keeps the first line and cuts it before appending the type', () => {
    expect(failureMessage(activityFailed(inner), { withType: true, maxChars: 10 })).toBe('the search (IndexRejected)');
  });

  it('skips empty messages on the way down and reads plain values', () => {
    const empty = ApplicationFailure.create({ message: '', type: 'Quiet' });
    expect(failureMessage(activityFailed(empty), { withType: true })).toBe('Activity task failed (Quiet)');
    expect(failureMessage('plain text')).toBe('plain text');
  });
});

describe('timedOut', () => {
  it('is true only when the activity or child itself ran out of time', () => {
    const timeout = new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE);
    expect(timedOut(activityFailed(timeout))).toBe(true);
    expect(timedOut(childFailed(timeout))).toBe(true);
    expect(timedOut(activityFailed(ApplicationFailure.create({ message: 'boom' })))).toBe(false);
  });
});
