/**
 * A file the user names on the command line (a topics file, an items file): it must exist, be a
 * file and stay under a size limit, or the command stops with one line naming it (exit code 2).
 */
import fs from 'node:fs';
import { fsProblem } from '../fs-errors';
import { UsageError } from './errors';

/** Checks `file` and returns its size; `what` names it in messages ("topics file"), `hint` follows a size refusal. */
export function checkInputFile(file: string, what: string, maxBytes: number, hint = ''): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${fsProblem(err)}`);
  }
  if (!stat.isFile()) throw new UsageError(`${file} is not a file`);
  if (stat.size > maxBytes) throw new UsageError(`${what} ${file} is ${stat.size} bytes; the limit is ${maxBytes}${hint}`);
  return stat.size;
}
