// Reads one file and turns it into plain text, or into the one-clause reason it cannot be used.
//
// Checks run cheapest first: size by stat before any byte is read (so a 4 GB file costs nothing),
// then emptiness, a NUL byte in the first 8 KB for the text kinds (the same heuristic git uses to
// call a file binary), strict UTF-8 decoding, and finally the kind's extraction. JSON is
// re-serialised with two-space indentation so that the chunker, which splits at lines and blank
// lines, can cut a large document between values instead of inside one long line.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PDFParse } from 'pdf-parse';
import { fsReason, type Candidate } from './expand';
import { htmlToText } from './html';
import type { BadFile, Source, SourceKind } from './types';

export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;

const BINARY_SNIFF_BYTES = 8 * 1024;

/** A file that cannot be used; carries the reason for `BadFile`. */
class Refused extends Error {
  override name = 'Refused';
}

const firstLine = (message: string): string => message.split('\n')[0]?.trim() ?? '';

const formatLimit = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MB` : `${bytes} bytes`;

const decodeUtf8 = (data: Uint8Array): string => {
  try {
    // TextDecoder strips a leading BOM by default.
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new Refused('not valid UTF-8');
  }
};

async function pdfText(data: Uint8Array): Promise<string> {
  const parser = new PDFParse({ data, verbosity: 0 });
  try {
    const result = await parser.getText({ pageJoiner: '' });
    return result.text;
  } catch (err) {
    throw new Refused(`unreadable PDF: ${firstLine(err instanceof Error ? err.message : String(err))}`);
  } finally {
    await parser.destroy();
  }
}

/** The text of a file of the given kind; throws `Refused` when there is none to be had. */
async function extractText(kind: SourceKind, data: Uint8Array): Promise<string> {
  if (kind === 'pdf') {
    const text = (await pdfText(data)).replace(/\r\n?/g, '\n');
    if (text.trim() === '') throw new Refused('PDF has no text layer');
    return text;
  }
  if (data.subarray(0, BINARY_SNIFF_BYTES).includes(0)) throw new Refused('binary file');
  const raw = decodeUtf8(data).replace(/\r\n?/g, '\n');
  if (raw.trim() === '') throw new Refused('empty');
  switch (kind) {
    case 'txt':
    case 'md':
      return raw;
    case 'html':
      return htmlToText(raw);
    case 'json':
      try {
        return JSON.stringify(JSON.parse(raw), null, 2);
      } catch (err) {
        throw new Refused(`invalid JSON: ${firstLine(err instanceof Error ? err.message : String(err))}`);
      }
  }
}

/** Reads and validates one candidate. Never throws for a problem with the file itself. */
export async function readSource(candidate: Candidate, maxFileBytes: number): Promise<Source | BadFile> {
  const { path, absPath, kind } = candidate;
  try {
    const info = await stat(absPath);
    if (info.isDirectory()) return { path, reason: 'is a directory' };
    if (!info.isFile()) return { path, reason: 'not a regular file' };
    if (info.size > maxFileBytes) return { path, reason: `over the ${formatLimit(maxFileBytes)} limit` };
    if (info.size === 0) return { path, reason: 'empty' };
    const data = await readFile(absPath);
    const text = await extractText(kind, data);
    if (text.trim() === '') return { path, reason: 'empty' };
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    return { path, absPath, kind, text, bytes: info.size, sha256 };
  } catch (err) {
    if (err instanceof Refused) return { path, reason: err.message };
    return { path, reason: fsReason(err) };
  }
}
