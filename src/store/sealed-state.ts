/**
 * Actors' shared state sealed with the key ring. Kept apart from shared-state.ts, whose Redis and
 * SQLite stores load their drivers: the library's worker entry exports this without them.
 */
import type { KeyRing } from '../encryption/keys';
import { isSealed, openText, sealText } from '../encryption/seal';
import type { Versioned, VersionedStore, WriteOutcome, WriteRequest } from './shared-state';

const SHARED_LABEL = 'shared-state';

/**
 * A store whose values are sealed (`src/encryption/seal.ts`) before the inner store sees them: the
 * inner store keeps a sealed string where the value was. Keys and versions stay plain (a key is the
 * name the agents chose, not content). A value written before encryption reads as it was.
 */
export class EncryptedVersionedStore implements VersionedStore {
  constructor(
    readonly inner: VersionedStore,
    private readonly ring: KeyRing,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  async read(key: string): Promise<Versioned> {
    const r = await this.inner.read(key);
    if (typeof r.value !== 'string' || !isSealed(r.value)) return r;
    return { value: JSON.parse(openText(this.ring, SHARED_LABEL, r.value, `the shared value ${JSON.stringify(key)}`)), version: r.version };
  }

  write(w: WriteRequest): Promise<WriteOutcome> {
    return this.inner.write({ ...w, value: sealText(this.ring, SHARED_LABEL, JSON.stringify(w.value ?? null)) });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The store as Braid uses it with this key ring: values sealed when there is one (once), else unchanged. */
export function withSharedEncryption(store: VersionedStore, ring: KeyRing | undefined): VersionedStore {
  return ring && !(store instanceof EncryptedVersionedStore) ? new EncryptedVersionedStore(store, ring) : store;
}
