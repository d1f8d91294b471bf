/**
 * The key ring payload encryption uses: AES-256 keys, newest first. New payloads are encrypted with
 * the newest; any listed key decrypts. Rotation is therefore two steps: put the new key first and
 * keep the old one listed until no run that still needs its payloads remains.
 *
 * A key's id is derived from the key (a truncated SHA-256 under a fixed label), so the same key has
 * the same id on every host without anyone naming it, and the id, which travels in every payload's
 * metadata, tells nothing about the key.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fsProblem } from '../fs-errors';

/** One AES-256 key and its id. */
export interface EncryptionKey {
  /** 16 hex characters, derived from the key; written into every payload it encrypts. */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** A key that is not base64 of 32 bytes, or a key file that cannot be read or holds none. */
export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

export const KEY_BYTES = 32;

export function keyId(key: Buffer): string {
  return createHash('sha256').update('braid-key-id\0').update(key).digest('hex').slice(0, 16);
}

/** A key from its base64 text; `where` names its source in the error ("BRAID_ENCRYPTION_KEY", "keys.txt line 2"). */
export function parseKey(text: string, where: string): EncryptionKey {
  const t = text.trim();
  const key = Buffer.from(t, 'base64');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t) || key.length !== KEY_BYTES) {
    throw new EncryptionKeyError(
      `${where} is not a key: expected base64 of ${KEY_BYTES} random bytes (make one with \`openssl rand -base64 32\`)`,
    );
  }
  return { id: keyId(key), key };
}

/** Keys newest first; encrypts with the first, decrypts with any. */
export class KeyRing {
  private readonly byId: Map<string, EncryptionKey>;

  /** `keys`: newest first. */
  constructor(readonly keys: readonly EncryptionKey[]) {
    if (!keys.length) throw new EncryptionKeyError('a key ring needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The key new payloads are encrypted with. */
  get newest(): EncryptionKey {
    return this.keys[0]!;
  }

  /** The key with this id, if the ring holds it. */
  find(id: string): EncryptionKey | undefined {
    return this.byId.get(id);
  }

  /** The ring from base64 keys, newest first. */
  static fromBase64(keys: string[]): KeyRing {
    return new KeyRing(keys.map((k, i) => parseKey(k, `key ${i + 1}`)));
  }
}

/**
 * A key-ring file: one base64 key per line, newest first; blank lines and lines starting with `#`
 * are ignored.
 */
export function readKeyFile(file: string): KeyRing {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new EncryptionKeyError(`cannot read the key file ${file} (BRAID_ENCRYPTION_KEYS_FILE): ${fsProblem(err)}`);
  }
  const keys: EncryptionKey[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() && !line.trim().startsWith('#')) keys.push(parseKey(line, `${file} line ${i + 1}`));
  });
  if (!keys.length) throw new EncryptionKeyError(`the key file ${file} (BRAID_ENCRYPTION_KEYS_FILE) holds no key`);
  return new KeyRing(keys);
}

/** The key ring the settings name (BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE), or undefined: encryption is off. */
export function keyRingFrom(settings: { key?: string; keysFile?: string }): KeyRing | undefined {
  if (settings.key !== undefined && settings.keysFile !== undefined)
    throw new EncryptionKeyError('set BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE, not both (a key ring file lists every key)');
  if (settings.key !== undefined) return new KeyRing([parseKey(settings.key, 'BRAID_ENCRYPTION_KEY')]);
  if (settings.keysFile !== undefined) return readKeyFile(settings.keysFile);
  return undefined;
}

const rings = new WeakMap<object, KeyRing | undefined>();

/** The key ring of a Braid configuration (read once per configuration object), or undefined: encryption is off. */
export function configuredKeyRing(cfg: { encryption: { key?: string; keysFile?: string } }): KeyRing | undefined {
  if (!rings.has(cfg.encryption)) rings.set(cfg.encryption, keyRingFrom(cfg.encryption));
  return rings.get(cfg.encryption);
}
