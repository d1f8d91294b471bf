// Locates the repository's bundled data. The same code runs from src/ (tsx, vitest) and from
// dist/ (after tsc), at different depths, so it walks up to the nearest package.json instead of
// counting '..' segments.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json found above ${start}; pass dataDir explicitly.`);
    dir = parent;
  }
}

export const defaultDataDir = (): string => join(findRepoRoot(), 'data');
