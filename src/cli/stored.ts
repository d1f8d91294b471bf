/**
 * Reading stored content back in the CLI: an answer or report too large for a payload comes back
 * from a run as a reference into the blob store (src/shared/blobs.ts), which the CLI shares with the
 * workers only when it runs on their host (or, later, with a shared store).
 */
import { blobSetting, openConfiguredBlobStore } from '../blobs/open';
import { BlobNotFound } from '../blobs/store';
import { config } from '../config';
import type { StoredText } from '../shared/blobs';

/** The stored text, whole; a one-line error naming the setting when this host's blob store does not have it. */
export async function readStored(stored: StoredText, what: string): Promise<string> {
  const store = openConfiguredBlobStore(config());
  try {
    return (await store.get(stored.ref)).toString('utf8');
  } catch (err) {
    if (!(err instanceof BlobNotFound)) throw err;
    throw new Error(
      `${what} (${stored.chars} characters) is stored as ${stored.ref}, which is not in the blob store here (${store.location}): run braid where it shares the workers' blob store (${blobSetting(config())})`,
    );
  }
}
