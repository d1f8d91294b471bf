/**
 * Shows a run's answer streams (src/store/answer-stream.ts) while it runs: the text each model call
 * writes, line by line, labelled by its branch (`turn-2`) whenever more than one branch has
 * written. It reads from the start, so `braid watch` or a restarted `braid ask` shows what was
 * written so far and goes on live. Without REDIS_URL only a CLI hosting the worker has the stream;
 * any other shows nothing here and the final answer when the run ends.
 */
import pc from 'picocolors';
import { config } from '../config';
import { PayloadDecryptError } from '../encryption/codec';
import { configuredKeyRing } from '../encryption/keys';
import type { AnswerChunk } from '../shared/stream';
import { answerStreams } from '../store/answer-stream';

export interface StreamFollower {
  /** Stops reading and prints what is buffered; resolves when the reader has stopped. */
  stop(): Promise<void>;
}

const POLL_MS = 500;

/** Turns chunks into labelled lines: complete lines at once, the rest when its branch ends. */
export class StreamPrinter {
  private readonly partial = new Map<string, { attempt: number; text: string }>();
  private readonly branches = new Set<string>();

  constructor(private readonly print: (line: string) => void) {}

  private label(branch: string): string {
    return this.branches.size > 1 ? `${pc.dim(`[${branch}]`)} ` : '';
  }

  take(c: AnswerChunk): void {
    this.branches.add(c.branch);
    const open = this.partial.get(c.branch);
    if (c.kind === 'start') {
      if (open && open.attempt < c.attempt) this.print(`${this.label(c.branch)}${pc.yellow(`(attempt ${c.attempt} writes this again)`)}`);
      this.partial.set(c.branch, { attempt: c.attempt, text: '' });
      return;
    }
    if (open && c.attempt < open.attempt) return; // a late chunk of an attempt that was given up
    const buf = open ?? { attempt: c.attempt, text: '' };
    this.partial.set(c.branch, buf);
    if (c.kind === 'text') {
      buf.text += c.text;
      const lines = buf.text.split('\n');
      buf.text = lines.pop()!;
      for (const line of lines) this.print(`${this.label(c.branch)}${line}`);
    } else this.flush(c.branch);
  }

  flush(branch?: string): void {
    for (const [b, buf] of this.partial) {
      if (branch !== undefined && b !== branch) continue;
      if (buf.text) this.print(`${this.label(b)}${buf.text}`);
      buf.text = '';
    }
  }
}

/** Follows the run's answer streams until `stop()`; prints through `print`. */
export function followStream(workflowId: string, print: (line: string) => void): StreamFollower {
  const streams = answerStreams(config().flow.redisUrl, configuredKeyRing(config()));
  const printer = new StreamPrinter(print);
  let stopped = false;
  const reading = (async () => {
    let cursor = '0';
    while (!stopped) {
      let entries;
      try {
        entries = await streams.read(workflowId, cursor, POLL_MS);
      } catch (err) {
        // A chunk sealed with a key this CLI lacks: say so once; the final answer is shown when the run ends.
        if (err instanceof PayloadDecryptError) process.stderr.write(`braid: the answer stream cannot be shown: ${err.message}\n`);
        return; // no stream to read (Redis unreachable): the final answer is shown when the run ends
      }
      for (const e of entries) {
        cursor = e.cursor;
        printer.take(e.chunk);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await reading;
      printer.flush();
      if (streams.kind === 'redis') await streams.close();
    },
  };
}
