/**
 * The pipeline's one side effect besides model calls: writing a finished article to its file.
 * Written to a temporary name and renamed, so a reader (or a retried attempt) never sees half a
 * file, and rewriting the same path with the same content is harmless — the activity is idempotent.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';

export interface WriteOutputInput {
  dir: string;
  file: string;
  content: string;
}

export function createPipelineActivities() {
  return {
    async writePipelineOutput(o: WriteOutputInput): Promise<{ path: string; bytes: number }> {
      if (!path.isAbsolute(o.dir)) throw ApplicationFailure.nonRetryable(`output directory must be absolute, got ${o.dir}`, 'InvalidInput');
      if (o.file !== path.basename(o.file) || o.file.startsWith('.'))
        throw ApplicationFailure.nonRetryable(`bad output file name ${o.file}`, 'InvalidInput');
      await fs.mkdir(o.dir, { recursive: true });
      const target = path.join(o.dir, o.file);
      const tmp = `${target}.${process.pid}.tmp`;
      await fs.writeFile(tmp, o.content, 'utf8');
      await fs.rename(tmp, target);
      return { path: target, bytes: Buffer.byteLength(o.content) };
    },
  };
}
