/**
 * Turns the user's inputs into a corpus the map-reduce workflow can reference: files are read and
 * extracted here, on the client, then chunked and written to the blob store (manifest.ts). The
 * workflow receives only the manifest's reference, and its id derives from that reference and the
 * task, so running the same command on the same files finds the same run.
 */
import type { BlobStore } from '../blobs/store';
import { ingest, type IngestOptions } from '../ingest';
import { storeCorpus, type Corpus } from './manifest';

export { shortPaths, summarizeWorkflowId, type Corpus } from './manifest';

export async function buildCorpus(args: string[], blobs: BlobStore, opts: IngestOptions & { maxTokens?: number } = {}): Promise<Corpus> {
  const { sources, bad } = await ingest(args, opts);
  return storeCorpus(sources, blobs, { maxTokens: opts.maxTokens, badFiles: bad });
}
