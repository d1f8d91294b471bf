import { condition, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
export const go = defineSignal('go');
export const ask = defineUpdate<string, [number]>('ask');
export async function holder(): Promise<number> {
  let released = false;
  let n = 0;
  setHandler(go, () => void (released = true));
  setHandler(ask, async (i) => { n++; await condition(() => released); return `r${i} ${workflowInfo().historyLength}`; });
  await condition(() => released && n >= 15);
  await condition(() => false, 2000).catch(() => 0);
  return n;
}
