import { condition, continueAsNew, startChild, ParentClosePolicy, workflowInfo, defineSignal, setHandler } from '@temporalio/workflow';
export const stop = defineSignal('stop');
export async function kid(): Promise<string> {
  let s = false; setHandler(stop, () => void (s = true));
  await condition(() => s);
  return 'done';
}
export async function parent(round: number): Promise<string> {
  if (round === 0) {
    await startChild(kid, { workflowId: `${workflowInfo().workflowId}/kid`, parentClosePolicy: ParentClosePolicy.TERMINATE });
    await continueAsNew<typeof parent>(1);
  }
  await condition(() => false, 3000).catch(() => 0);
  return 'p';
}
