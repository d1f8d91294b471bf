// `ingest`: the user's file, directory and glob arguments in, validated text sources out.
//
// A bad file never aborts the corpus: it is listed with its reason and the good files go on, so a
// summarize run over 500 files is not lost to one corrupt PDF. Files are read a few at a time —
// enough to overlap disk and PDF parsing, few enough that 50 MB files do not pile up in memory —
// and both lists keep argument order whatever order the reads finish in.
import { expandArgs, isBadFile } from './expand';
import { DEFAULT_MAX_FILE_BYTES, readSource } from './extract';
import type { BadFile, IngestOptions, IngestResult, Source } from './types';

const READ_CONCURRENCY = 8;

export async function ingest(args: string[], opts: IngestOptions = {}): Promise<IngestResult> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    throw new TypeError('ingest: args must be an array of strings');
  }
  if (!Number.isFinite(maxFileBytes) || maxFileBytes <= 0) {
    throw new RangeError(`ingest: maxFileBytes must be a positive number, got ${maxFileBytes}`);
  }
  const cwd = opts.cwd ?? process.cwd();
  const items = await expandArgs(args, cwd);

  const results: (Source | BadFile)[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const item = items[i]!;
      results[i] = isBadFile(item) ? item : await readSource(item, maxFileBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));

  const sources: Source[] = [];
  const bad: BadFile[] = [];
  for (const r of results) {
    if (isBadFile(r)) bad.push(r);
    else sources.push(r);
  }
  return { sources, bad };
}
