// Which file extensions Braid can read, and as what. Kept apart so the argument expander (which
// skips unsupported files inside directories) and the extractor agree on one list.
import { extname } from 'node:path';
import type { SourceKind } from './types';

const KIND_BY_EXTENSION: Readonly<Record<string, SourceKind>> = {
  '.txt': 'txt',
  '.md': 'md',
  '.markdown': 'md',
  '.html': 'html',
  '.htm': 'html',
  '.json': 'json',
  '.pdf': 'pdf',
};

/** The lower-cased extension of a path including its dot, or '' when it has none. */
export const extensionOf = (path: string): string => extname(path).toLowerCase();

/** The kind for a path by its extension (case-insensitive), or undefined when unsupported. */
export const kindOf = (path: string): SourceKind | undefined => KIND_BY_EXTENSION[extensionOf(path)];
