/**
 * `braid ask` shows the answer as it is written (issue #12 §2): with a worker in the same process
 * and no REDIS_URL the stream is the process's memory; the text goes to stderr beside the progress
 * block, and stdout keeps the final answer as before.
 */
import { expect, it } from 'vitest';
import { braid, server } from './cli-helpers';

it('prints the streamed answer on stderr before the final answer on stdout', async () => {
  const r = await braid(['ask', '--with-worker', 'Explain how tides work.\n#sim answer_tokens=80'], server());
  expect(r.code, r.stderr).toBe(0);
  const answer = /Answer — [^\n]*\n([^\n]+)/.exec(r.stdout)?.[1];
  expect(answer && answer.length).toBeGreaterThan(20);
  expect(r.stderr).toContain(answer!.slice(0, 60));
});
