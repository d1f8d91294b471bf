/** Setup step: find or build the Temporal CLI and say where it is. */
import { resolveTemporalCli, temporalCliVersion } from '../src/temporal/cli-binary';

const quiet = process.argv.includes('--quiet');
resolveTemporalCli({ log: (l) => process.stderr.write(`braid setup: ${l}\n`) })
  .then((bin) => {
    if (!quiet) process.stderr.write(`braid setup: Temporal CLI ${temporalCliVersion(bin).replace(/^temporal version /, '')} at ${bin}\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`braid setup: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
