// Validation of the content blocks a request may carry besides text and tools — images, documents,
// thinking blocks and `cache_control` markers — with the Messages API's rules: images are base64
// JPEG/PNG/GIF/WebP whose bytes really are that format (or a URL), documents are plain text, a
// PDF, custom content or a URL, and only assistant turns hold thinking. Validation also fills a
// document's `text` (what an answer or a citation can draw on) for the sources that carry text.
// Files API sources (`file_id`) are refused: the simulator has no Files API to look them up in.
import type { CacheControl, DocumentBlock, ImageBlock, TextBlock } from './types';

export class RequestInvalid extends Error {
  override name = 'RequestInvalid';
}

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function fail(message: string): never {
  throw new RequestInvalid(message);
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const;

/** The image format the bytes start with, by their magic numbers. */
export function sniffImage(bytes: Buffer): (typeof IMAGE_TYPES)[number] | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (/^GIF8[79]a/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Bytes(data: unknown, path: string): Buffer {
  if (typeof data !== 'string' || data.length === 0) fail(`${path}.data: Field required`);
  if (data.length % 4 !== 0 || !BASE64.test(data)) fail(`${path}.data: Input should be valid base64`);
  return Buffer.from(data, 'base64');
}

function url(v: Obj, path: string): string {
  if (typeof v.url !== 'string' || !/^https?:\/\/\S+$/.test(v.url)) fail(`${path}.url: Input should be a valid URL`);
  return v.url;
}

function noFiles(path: string): never {
  fail(`${path}: file sources refer to the Files API, which the simulator does not imitate; send the content inline`);
}

export function cacheControl(v: unknown, path: string): CacheControl | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || v.type !== 'ephemeral') fail(`${path}.type: Input should be 'ephemeral'`);
  if (v.ttl !== undefined && v.ttl !== '5m' && v.ttl !== '1h') fail(`${path}.ttl: Input should be '5m' or '1h'`);
  return v.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: v.ttl };
}

/** Adds `cache_control` to a block only when the request set one, so blocks compare equal otherwise. */
export function withCache<T extends object>(block: T, v: Obj, path: string): T & { cache_control?: CacheControl } {
  const cc = cacheControl(v.cache_control, `${path}.cache_control`);
  return cc ? { ...block, cache_control: cc } : block;
}

export function textBlock(v: unknown, path: string): TextBlock {
  if (!isObj(v) || v.type !== 'text') fail(`${path}.type: Input should be 'text'`);
  if (typeof v.text !== 'string') fail(`${path}.text: Field required`);
  if (v.text.length === 0) fail(`${path}: text content blocks must be non-empty`);
  return withCache({ type: 'text', text: v.text }, v, path);
}

export function imageBlock(v: Obj, path: string): ImageBlock {
  const source = v.source;
  const at = `${path}.source`;
  if (!isObj(source)) fail(`${at}: Field required`);
  let block: ImageBlock;
  if (source.type === 'base64') {
    if (!IMAGE_TYPES.includes(source.media_type as (typeof IMAGE_TYPES)[number]))
      fail(`${at}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
    const actual = sniffImage(base64Bytes(source.data, at));
    if (actual === undefined) fail(`${at}.data: Could not process image`);
    if (actual !== source.media_type)
      fail(
        `${at}.data: The image was specified using the ${String(source.media_type)} media type, but the image appears to be a ${actual} image`,
      );
    block = { type: 'image', source: { type: 'base64', media_type: actual, data: source.data as string } };
  } else if (source.type === 'url') block = { type: 'image', source: { type: 'url', url: url(source, at) } };
  else if (source.type === 'file') noFiles(at);
  else fail(`${at}.type: Input should be 'base64', 'url' or 'file'`);
  return withCache(block, v, path);
}

/** The text a content source carries: its text blocks joined, images contributing nothing. */
function contentSourceText(content: DocumentBlock['source'] & { type: 'content' }): string {
  if (typeof content.content === 'string') return content.content;
  return content.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
}

export function documentBlock(v: Obj, path: string): DocumentBlock {
  const source = v.source;
  const at = `${path}.source`;
  if (!isObj(source)) fail(`${at}: Field required`);
  let doc: DocumentBlock;
  switch (source.type) {
    case 'text':
      if (source.media_type !== 'text/plain') fail(`${at}.media_type: Input should be 'text/plain'`);
      if (typeof source.data !== 'string') fail(`${at}.data: Field required`);
      doc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: source.data }, text: source.data };
      break;
    case 'base64': {
      if (source.media_type !== 'application/pdf') fail(`${at}.media_type: Input should be 'application/pdf'`);
      const bytes = base64Bytes(source.data, at);
      if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') fail(`${at}.data: The PDF specified was not valid.`);
      doc = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: source.data as string } };
      break;
    }
    case 'content': {
      let content: string | Array<TextBlock | ImageBlock>;
      if (typeof source.content === 'string') content = source.content;
      else if (Array.isArray(source.content)) {
        content = source.content.map((b, i) => {
          const p = `${at}.content.${i}`;
          if (isObj(b) && b.type === 'image') return imageBlock(b, p);
          return textBlock(b, p);
        });
      } else fail(`${at}.content: Input should be a valid string or list`);
      const src = { type: 'content' as const, content };
      doc = { type: 'document', source: src, text: contentSourceText(src) };
      break;
    }
    case 'url':
      doc = { type: 'document', source: { type: 'url', url: url(source, at) } };
      break;
    case 'file':
      return noFiles(at);
    default:
      fail(
        `${at}.type: Input tag '${String(source.type)}' found using 'type' does not match any of the expected tags: 'base64', 'text', 'content', 'url', 'file'`,
      );
  }
  for (const key of ['title', 'context'] as const) {
    if (v[key] === undefined || v[key] === null) continue;
    if (typeof v[key] !== 'string') fail(`${path}.${key}: Input should be a valid string`);
    doc[key] = v[key];
  }
  if (v.citations !== undefined && v.citations !== null) {
    if (!isObj(v.citations) || (v.citations.enabled !== undefined && typeof v.citations.enabled !== 'boolean'))
      fail(`${path}.citations.enabled: Input should be a valid boolean`);
    doc.citations = { enabled: v.citations.enabled === true };
  }
  return withCache(doc, v, path);
}

/** Fills `text` of every base64 PDF document in the request from the PDF's text layer (empty when it has none). */
export async function readPdfTexts(messages: Array<{ content: string | unknown[] }>): Promise<void> {
  const docs: DocumentBlock[] = [];
  const visit = (b: unknown): void => {
    if (!isObj(b)) return;
    if (b.type === 'document' && isObj(b.source) && b.source.type === 'base64' && b.text === undefined)
      docs.push(b as unknown as DocumentBlock);
    if (b.type === 'tool_result' && Array.isArray(b.content)) b.content.forEach(visit);
  };
  for (const m of messages) if (Array.isArray(m.content)) m.content.forEach(visit);
  if (docs.length === 0) return;
  const { PDFParse } = await import('pdf-parse');
  for (const doc of docs) {
    if (doc.source.type !== 'base64') continue;
    const parser = new PDFParse({ data: Buffer.from(doc.source.data, 'base64'), verbosity: 0 });
    try {
      doc.text = (await parser.getText({ pageJoiner: '' })).text.replace(/\r\n?/g, '\n').trim();
    } catch {
      fail('The PDF specified was not valid.');
    } finally {
      await parser.destroy();
    }
  }
}
