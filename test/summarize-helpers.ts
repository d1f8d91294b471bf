/** A small synthetic corpus for summarize tests that need a job, not a realistic document set. */
import { putJson, type BlobStore } from '../src/blobs/store';
import type { CorpusManifest, SummarizeInput } from '../src/shared/summarize';

/** `n` one-sentence-pair chunks of one file (`policy.md`) about refunds and shipping by region, stored in `blobs`. */
export async function regionCorpus(
  blobs: BlobStore,
  n: number,
): Promise<Pick<SummarizeInput, 'manifestRef' | 'chunkCount' | 'sourceCount'>> {
  const chunks: CorpusManifest['chunks'] = [];
  for (let i = 0; i < n; i++) {
    const text = `Section ${i}. Refunds in region ${i} are paid within ${10 + i} days. Shipping to region ${i} takes ${2 + i} days.`;
    chunks.push({ id: `0:${i}`, source: 'policy.md', start: i * 200, end: i * 200 + text.length, tokens: 30, ref: await blobs.put(text) });
  }
  const manifest: CorpusManifest = { version: 1, chunks, sources: [{ path: 'policy.md', sha256: 'x', chars: n * 200 }] };
  return { manifestRef: await putJson(blobs, manifest), chunkCount: n, sourceCount: 1 };
}
