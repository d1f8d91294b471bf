/** Small helpers for calling tools directly through a registry, outside any activity. */
import { vi } from 'vitest';
import type { ToolContext } from '../src/tools';

/** A tool context as the activity builds it, with a spy for heartbeats. */
export function ctx(signal: AbortSignal = new AbortController().signal, deadline?: number): ToolContext {
  return { signal, heartbeat: vi.fn(), toolUseId: 'toolu_test', deadline };
}

/** Runs a promise that must fail and returns its error. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
