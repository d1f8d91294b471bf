/**
 * Sealing one value Braid keeps outside Temporal (an answer in the answer cache, an actor's shared
 * value): AES-256-GCM under the ring's newest key with a fresh random nonce. The sealed form is text
 * (`SEALED_PREFIX` and base64 of key id, nonce, ciphertext, tag), so it fits where the plain text
 * was. The key id and a label naming the store are bound into the tag: a value moved to another
 * store, or whose key id was altered, fails to open like one whose bytes were.
 *
 * A value without the prefix was written before encryption was turned on and is returned as it is.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { PayloadDecryptError } from './codec';
import type { KeyRing } from './keys';

export const SEALED_PREFIX = 'braid-sealed:1:';
const ID_BYTES = 8;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** AES-256-GCM of `plain` under `key` and `nonce`, `aad` authenticated: ciphertext then tag (codec, blobs and sealed values). */
export function gcmSeal(key: Buffer, nonce: Buffer, aad: Buffer, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of `gcmSeal`'s output (ciphertext then tag); throws when it fails authentication. */
export function gcmOpen(key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < TAG_BYTES) throw new Error('too short');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** True when `stored` is a sealed value. */
export const isSealed = (stored: string): boolean => stored.startsWith(SEALED_PREFIX);

/** `plain` sealed with the ring's newest key; `label` names the store (it must match when opening). */
export function sealText(ring: KeyRing, label: string, plain: string): string {
  const { id, key } = ring.newest;
  const idBytes = Buffer.from(id, 'hex');
  const nonce = randomBytes(NONCE_BYTES);
  const body = Buffer.concat([
    idBytes,
    nonce,
    gcmSeal(key, nonce, Buffer.concat([Buffer.from(`${label}\0`), idBytes]), Buffer.from(plain, 'utf8')),
  ]);
  return SEALED_PREFIX + body.toString('base64');
}

/**
 * The plain text of a stored value: opened with whichever key of the ring sealed it, or returned as
 * it is when it was written before encryption. `what` names the value in errors ("the answer cache's
 * entry"). Throws `PayloadDecryptError` for a key the ring lacks, no ring, or an altered value.
 */
export function openText(ring: KeyRing | undefined, label: string, stored: string, what: string): string {
  if (!isSealed(stored)) return stored;
  const body = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
  if (body.length < ID_BYTES + NONCE_BYTES + TAG_BYTES) throw new PayloadDecryptError(`${what} is sealed but truncated: it was altered`);
  const idBytes = body.subarray(0, ID_BYTES);
  const id = idBytes.toString('hex');
  const k = ring?.find(id);
  if (!k) {
    throw new PayloadDecryptError(
      `${what} is encrypted with key ${id}, which this process ${ring ? 'does not hold in its key ring' : 'cannot read: it has no key'}: give every worker and client the same keys (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE)`,
    );
  }
  try {
    const nonce = body.subarray(ID_BYTES, ID_BYTES + NONCE_BYTES);
    return gcmOpen(k.key, nonce, Buffer.concat([Buffer.from(`${label}\0`), idBytes]), body.subarray(ID_BYTES + NONCE_BYTES)).toString(
      'utf8',
    );
  } catch {
    throw new PayloadDecryptError(`${what} (key ${id}) fails authentication: it was altered`);
  }
}

/**
 * A keyed hash (HMAC-SHA-256, hex) of `text` under a key derived from the ring's newest key for
 * `label`: a lookup key that does not reveal what it was computed from. After a rotation the same
 * text hashes differently, so lookups under the old key miss.
 */
export function keyedHash(ring: KeyRing, label: string, text: string): string {
  const hmacKey = Buffer.from(hkdfSync('sha256', ring.newest.key, Buffer.alloc(0), `braid keyed hash: ${label}`, 32));
  return createHmac('sha256', hmacKey).update(text).digest('hex');
}
