/**
 * Braid's payload codec: every payload Temporal stores (workflow and activity inputs and results,
 * signals, queries' answers, memo, summaries, failures' messages) is encrypted with AES-256-GCM
 * before it leaves the process and decrypted when it comes back.
 *
 * An encrypted payload carries the whole original payload (its metadata and data, serialised as the
 * protobuf message) as ciphertext, so its encoding is hidden too. Its own metadata says what a
 * reader needs and nothing more: `encoding: binary/encrypted`, the key's id, and whether the
 * plaintext was compressed. Those three are also bound into the authentication tag, so a payload
 * whose metadata was altered fails to decrypt like one whose bytes were. The data is the 12-byte
 * nonce (fresh from the OS's random source for every payload), the ciphertext and the 16-byte tag.
 *
 * Large payloads (above `compressAboveBytes`) are deflated before encryption: ciphertext does not
 * compress, so it must happen first. A payload without `binary/encrypted` passes decoding
 * unchanged: runs written before encryption was turned on stay readable.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from './keys';
import { gcmOpen, gcmSeal, NONCE_BYTES, TAG_BYTES } from './seal';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const COMPRESSION_METADATA = 'braid-compression';
/** Plaintext at least this large is deflated before encryption (the default of `compressAboveBytes`). */
export const COMPRESS_ABOVE_BYTES = 4096;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** A payload this process cannot read: encrypted with a key it does not hold, altered, or encrypted while it has no key. */
export class PayloadDecryptError extends Error {
  override name = 'PayloadDecryptError';
}

/** How the codec treats large payloads. */
export interface EncryptionCodecOptions {
  /** Deflate plaintext of at least this many bytes before encrypting it; `false`: never. Default COMPRESS_ABOVE_BYTES. */
  compressAboveBytes?: number | false;
}

/** The metadata that goes into the tag: a reader authenticates the key id and compression flag it acts on. */
const aad = (id: string, compression: string) => Buffer.from(`${ENCRYPTED_ENCODING}\0${id}\0${compression}`);

/** True when a payload is one of this codec's (or another `binary/encrypted` codec's). */
export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.encoding) === ENCRYPTED_ENCODING;
}

/**
 * The codec for a key ring. Without a ring it encrypts nothing, and a payload that is encrypted
 * fails to decode with an error saying which key it needs, rather than the payload converter's
 * "unknown encoding".
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly compressAbove: number;

  constructor(
    /** The keys: the newest encrypts, any decrypts; undefined: nothing is encrypted. */
    readonly ring: KeyRing | undefined,
    o: EncryptionCodecOptions = {},
  ) {
    this.compressAbove = o.compressAboveBytes === false ? Infinity : (o.compressAboveBytes ?? COMPRESS_ABOVE_BYTES);
  }

  /** Encrypts every payload with the newest key (none without a ring). */
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return this.ring ? payloads.map((p) => this.encrypt(p)) : payloads;
  }

  /** Decrypts the encrypted payloads; others pass unchanged. Throws `PayloadDecryptError` for one it cannot read. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  /** One payload, encrypted with the newest key of the ring. */
  encrypt(p: Payload): Payload {
    const { id, key } = this.ring!.newest;
    let plain: Uint8Array = temporal.api.common.v1.Payload.encode(p).finish();
    let compression = '';
    if (plain.length >= this.compressAbove) {
      plain = deflateRawSync(plain);
      compression = 'deflate';
    }
    const nonce = randomBytes(NONCE_BYTES);
    const data = Buffer.concat([nonce, gcmSeal(key, nonce, aad(id, compression), plain)]);
    const metadata: Record<string, Uint8Array> = { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) };
    if (compression) metadata[COMPRESSION_METADATA] = utf8(compression);
    return { metadata, data };
  }

  /** One `binary/encrypted` payload back to the original. */
  decrypt(p: Payload): Payload {
    const id = text(p.metadata?.[KEY_ID_METADATA]) ?? '';
    const compression = text(p.metadata?.[COMPRESSION_METADATA]) ?? '';
    if (!this.ring) {
      throw new PayloadDecryptError(
        `a payload is encrypted (key ${id}) but this process has no key: set BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE as the workers have it`,
      );
    }
    const k = this.ring.find(id);
    if (!k) {
      throw new PayloadDecryptError(
        `a payload is encrypted with key ${id}, which this process's key ring (${this.ring.keys.map((x) => x.id).join(', ')}) does not hold: give every worker and client the same keys (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE)`,
      );
    }
    const data = Buffer.from(p.data ?? []);
    let plain: Buffer;
    try {
      if (data.length < NONCE_BYTES + TAG_BYTES) throw new Error('too short');
      plain = gcmOpen(k.key, data.subarray(0, NONCE_BYTES), aad(id, compression), data.subarray(NONCE_BYTES));
    } catch {
      throw new PayloadDecryptError(`a payload encrypted with key ${id} fails authentication: it was altered or is not Braid's`);
    }
    if (compression === 'deflate') plain = inflateRawSync(plain);
    else if (compression) throw new PayloadDecryptError(`a payload is compressed with "${compression}", which Braid does not know`);
    return temporal.api.common.v1.Payload.decode(plain);
  }
}
