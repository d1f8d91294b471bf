/**
 * The blob store with encryption on: a wrapper around any `BlobStore` (the local directory, or
 * another backend) that encrypts every blob before the store sees it and decrypts what it reads.
 *
 * Blobs are content-addressed, and an address must not let anyone confirm a guessed document by
 * hashing it. So the encryption is deterministic and keyed, in the manner of a synthetic IV: the
 * nonce is an HMAC-SHA-256 of the content under a key derived from the encryption key, the content
 * is encrypted with AES-256-GCM under another derived key, and the inner store addresses the result
 * by its SHA-256. The address is therefore a keyed hash of the content: the same content under the
 * same key has the same address (writes stay idempotent, retries write nothing new), and without
 * the key nobody can compute it. What this gives up, knowingly: two equal blobs are seen to be equal.
 *
 * A blob written before encryption was turned on (it lacks the header) is returned as it is, so
 * references held by older runs still read. After a key rotation new content is written under the
 * newest key; blobs under older keys read as long as those keys stay in the ring.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { BlobRef, BlobStore } from '../blobs/store';
import type { EncryptionKey, KeyRing } from './keys';
import { PayloadDecryptError } from './codec';
import { gcmOpen, gcmSeal, NONCE_BYTES, TAG_BYTES } from './seal';

/** Starts every encrypted blob: not text, so no plain document begins with it by accident. */
const MAGIC = Buffer.from([0x00, 0x42, 0x52, 0x41, 0x49, 0x44, 0x45, 0x31]); // \0BRAIDE1
const ID_BYTES = 8;
const HEADER = MAGIC.length + ID_BYTES + NONCE_BYTES;

interface BlobKeys {
  id: string;
  enc: Buffer;
  nonce: Buffer;
}

const derive = (k: EncryptionKey): BlobKeys => ({
  id: k.id,
  enc: Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), 'braid blob encryption', 32)),
  nonce: Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), 'braid blob nonce', 32)),
});

export class EncryptedBlobStore implements BlobStore {
  private readonly keys = new Map<string, BlobKeys>();

  constructor(
    private readonly inner: BlobStore,
    private readonly ring: KeyRing,
  ) {
    for (const k of ring.keys) this.keys.set(k.id, derive(k));
  }

  get location(): string {
    return this.inner.location;
  }

  close(): void {
    this.inner.close?.();
  }

  /** The bytes the inner store keeps for this content: header, ciphertext, tag. */
  seal(data: string | Uint8Array): Buffer {
    const k = this.keys.get(this.ring.newest.id)!;
    const plain = Buffer.from(data);
    const nonce = createHmac('sha256', k.nonce).update(plain).digest().subarray(0, NONCE_BYTES);
    const id = Buffer.from(k.id, 'hex');
    return Buffer.concat([MAGIC, id, nonce, gcmSeal(k.enc, nonce, id, plain)]);
  }

  open(ref: string, stored: Buffer): Buffer {
    if (stored.length < HEADER + TAG_BYTES || !stored.subarray(0, MAGIC.length).equals(MAGIC)) return stored; // written before encryption
    const idBytes = stored.subarray(MAGIC.length, MAGIC.length + ID_BYTES);
    const id = idBytes.toString('hex');
    const k = this.keys.get(id);
    if (!k) {
      throw new PayloadDecryptError(
        `blob ${ref} is encrypted with key ${id}, which this process's key ring does not hold: give every worker and client the same keys (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE)`,
      );
    }
    try {
      return gcmOpen(k.enc, stored.subarray(MAGIC.length + ID_BYTES, HEADER), idBytes, stored.subarray(HEADER));
    } catch {
      throw new PayloadDecryptError(`blob ${ref} fails authentication: it was altered`);
    }
  }

  put(data: string | Uint8Array): Promise<BlobRef> {
    return this.inner.put(this.seal(data));
  }

  async get(ref: string): Promise<Buffer> {
    return this.open(ref, await this.inner.get(ref));
  }

  has(ref: string): Promise<boolean> {
    return this.inner.has(ref);
  }
}

/** The store as Braid uses it with this key ring: encrypted when there is one, else unchanged. */
export function withBlobEncryption(store: BlobStore, ring: KeyRing | undefined): BlobStore {
  return ring ? new EncryptedBlobStore(store, ring) : store;
}
