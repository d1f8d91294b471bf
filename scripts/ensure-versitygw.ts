/** Setup step for the tests (`setup.mjs --tests`): find or build the Versity S3 Gateway the blob-store tests run against. */
import { resolveVersitygw } from '../test/fixtures/s3-server';

resolveVersitygw({ build: true, log: (l) => process.stderr.write(`braid setup: ${l}\n`) })
  .then((bin) => {
    if (!process.argv.includes('--quiet')) process.stderr.write(`braid setup: Versity S3 Gateway at ${bin}\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`braid setup: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
