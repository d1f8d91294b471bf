/**
 * What an encrypting worker or client adds to its data converter: the codec, and a failure
 * converter that moves a failure's message and stack trace — model output, tool output, user text —
 * into its encoded attributes, a payload the codec encrypts (the server keeps "Encoded failure" as
 * the message). Reading needs no such converter: every failure converter reads encoded attributes.
 *
 * The SDK takes a failure converter only as a module path (`failureConverterPath`), which the worker
 * loads with Node's `require` and also bundles into the workflow sandbox. So the module is written
 * as two lines of plain JavaScript to the OS temp directory, named by its content, like the worker
 * plugin's combined workflows module: it loads the same way from src/ (tsx), dist/ and tests.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type EncryptionCodecOptions } from './codec';
import type { KeyRing } from './keys';

let written: string | undefined;

/** A module exporting `failureConverter`: the SDK's default one with `encodeCommonAttributes: true`. */
export function encodingFailureConverterPath(): string {
  if (written) return written;
  const common = require.resolve('@temporalio/common');
  const code = `// Written by Braid (src/encryption/converter.ts): failures' messages and stack traces are encoded, so the payload codec encrypts them.\nconst { DefaultFailureConverter } = require(${JSON.stringify(common)});\nexports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });\n`;
  const dir = path.join(os.tmpdir(), 'braid-converters');
  const file = path.join(dir, `failures-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  }
  written = file;
  return file;
}

/**
 * The data-converter settings of a Braid process with this key ring: the codec, and with a ring the
 * encoding failure converter. Without a ring nothing is encrypted, and an encrypted payload fails
 * with a one-line error naming its key.
 */
export function encryptionConverter(ring: KeyRing | undefined, o: EncryptionCodecOptions = {}): DataConverter {
  const codec = new EncryptionCodec(ring, o);
  return ring ? { payloadCodecs: [codec], failureConverterPath: encodingFailureConverterPath() } : { payloadCodecs: [codec] };
}

/** Adds encryption to a data converter that may already have codecs (they run first when encoding, last when decoding). */
export function withEncryption(existing: DataConverter | undefined, ring: KeyRing | undefined): DataConverter {
  const own = encryptionConverter(ring);
  return {
    ...existing,
    ...(own.failureConverterPath ? { failureConverterPath: own.failureConverterPath } : {}),
    payloadCodecs: [...(existing?.payloadCodecs ?? []), ...own.payloadCodecs!],
  };
}
