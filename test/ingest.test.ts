// Tests for src/ingest: argument expansion, validation and extraction, against real files written
// to a temporary directory (and the bundled data/docs corpus).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestResult } from '../src/ingest';
import { makePdf, textContent } from './fixtures/ingest/make-pdf';

let dir: string;

const write = async (rel: string, data: string | Uint8Array): Promise<string> => {
  const abs = join(dir, rel);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, data);
  return abs;
};

const reasonFor = (result: IngestResult, path: string): string | undefined => result.bad.find((b) => b.path === path)?.reason;

const one = async (rel: string, opts: { maxFileBytes?: number } = {}): Promise<IngestResult> => ingest([rel], { cwd: dir, ...opts });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'braid-ingest-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bad files', () => {
  it('reports a missing path as not found', async () => {
    const r = await one('nope.md');
    expect(r.sources).toEqual([]);
    expect(r.bad).toEqual([{ path: 'nope.md', reason: 'not found' }]);
  });

  it('reports a directory with no supported files, and a glob that matches nothing', async () => {
    await mkdir(join(dir, 'empty-dir'), { recursive: true });
    await write('only-docx/report.docx', 'x');
    const r = await ingest(['empty-dir', 'only-docx', 'nothing/**/*.md'], { cwd: dir });
    expect(r.sources).toEqual([]);
    expect(r.bad).toEqual([
      { path: 'empty-dir', reason: 'matched no files' },
      { path: 'only-docx', reason: 'matched no files (only unsupported types: .docx)' },
      { path: 'nothing/**/*.md', reason: 'matched no files' },
    ]);
  });

  it('refuses a text file with a NUL byte as binary', async () => {
    await write('bin.txt', Buffer.from([0x68, 0x69, 0x00, 0x01, 0x02]));
    expect(reasonFor(await one('bin.txt'), 'bin.txt')).toBe('binary file');
  });

  it('refuses bytes that are not UTF-8 (Latin-1 é)', async () => {
    await write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    expect(reasonFor(await one('latin1.txt'), 'latin1.txt')).toBe('not valid UTF-8');
  });

  it('refuses zero-byte and whitespace-only files as empty', async () => {
    await write('zero.md', '');
    await write('blank.txt', ' \n\t\r\n  \n');
    await write('blank.html', '<html><body>  <script>var x = 1;</script> </body></html>');
    const r = await ingest(['zero.md', 'blank.txt', 'blank.html'], { cwd: dir });
    expect(r.sources).toEqual([]);
    expect(r.bad.map((b) => [b.path, b.reason])).toEqual([
      ['zero.md', 'empty'],
      ['blank.txt', 'empty'],
      ['blank.html', 'empty'],
    ]);
  });

  it('refuses a file over maxFileBytes before reading it', async () => {
    await write('big.txt', 'x'.repeat(2048));
    expect(reasonFor(await one('big.txt', { maxFileBytes: 1024 }), 'big.txt')).toBe('over the 1024 bytes limit');
    expect((await one('big.txt', { maxFileBytes: 4096 })).sources).toHaveLength(1);
  });

  it('names the 50 MB default limit in MB', async () => {
    await write('limit.txt', 'abc');
    expect(reasonFor(await one('limit.txt', { maxFileBytes: 2 * 1024 * 1024 }), 'limit.txt')).toBeUndefined();
    expect(reasonFor(await one('limit.txt', { maxFileBytes: 2 }), 'limit.txt')).toBe('over the 2 bytes limit');
  });

  it('refuses an unsupported extension given explicitly, case-insensitively accepts supported ones', async () => {
    await write('report.docx', 'PK');
    await write('NOTES.MD', '# Notes\n');
    const r = await ingest(['report.docx', 'NOTES.MD'], { cwd: dir });
    expect(r.bad).toEqual([{ path: 'report.docx', reason: 'unsupported type .docx' }]);
    expect(r.sources.map((s) => [s.path, s.kind])).toEqual([['NOTES.MD', 'md']]);
  });

  it('reports invalid JSON with the parser message', async () => {
    await write('broken.json', '{"a": 1,,}');
    const reason = reasonFor(await one('broken.json'), 'broken.json');
    expect(reason).toMatch(/^invalid JSON: \S/);
    expect(reason).not.toContain('\n');
  });

  it('reports a dangling symlink as not found', async () => {
    await symlink(join(dir, 'gone.md'), join(dir, 'dangling.md'));
    expect(reasonFor(await one('dangling.md'), 'dangling.md')).toMatch(/^not found/);
  });

  it.skipIf(process.getuid?.() === 0)('reports a file it may not read as unreadable', async () => {
    const abs = await write('secret.txt', 'top secret');
    await chmod(abs, 0o000);
    try {
      expect(reasonFor(await one('secret.txt'), 'secret.txt')).toBe('unreadable: permission denied (EACCES)');
    } finally {
      await chmod(abs, 0o644);
    }
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO without blocking on it', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe.txt')]);
    expect(reasonFor(await one('pipe.txt'), 'pipe.txt')).toBe('not a regular file');
  });

  it('reports a path through a file as not found', async () => {
    await write('plain.txt', 'x');
    expect(reasonFor(await one('plain.txt/inner.md'), 'plain.txt/inner.md')).toBe('not found');
  });

  it('reports a PDF with an empty content stream as having no text layer', async () => {
    await write('scan.pdf', makePdf(''));
    expect(reasonFor(await one('scan.pdf'), 'scan.pdf')).toBe('PDF has no text layer');
  });

  it('reports a corrupt PDF as unreadable', async () => {
    await write('corrupt.pdf', 'this is not a PDF at all');
    expect(reasonFor(await one('corrupt.pdf'), 'corrupt.pdf')).toMatch(/^unreadable PDF: \S/);
  });

  it('returns the good files and lists the bad ones in a mix', async () => {
    await write('mix/good-a.md', '# A\n\nAlpha.\n');
    await write('mix/good-b.txt', 'Bravo.\n');
    await write('mix/bad.txt', Buffer.from([0xff, 0xfe, 0x00]));
    const r = await ingest(['mix/good-a.md', 'mix/bad.txt', 'missing.txt', 'mix/good-b.txt'], { cwd: dir });
    expect(r.sources.map((s) => s.path)).toEqual(['mix/good-a.md', 'mix/good-b.txt']);
    expect(r.bad).toEqual([
      { path: 'mix/bad.txt', reason: 'binary file' },
      { path: 'missing.txt', reason: 'not found' },
    ]);
  });
});

describe('extraction', () => {
  it('strips a BOM, normalises CRLF and hashes the extracted text', async () => {
    await write('crlf.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('one\r\ntwo\r\n', 'utf8')]));
    const [source] = (await one('crlf.txt')).sources;
    expect(source?.text).toBe('one\ntwo\n');
    expect(source?.bytes).toBe(13);
    expect(source?.absPath).toBe(join(dir, 'crlf.txt'));
    expect(source?.sha256).toBe(createHash('sha256').update('one\ntwo\n').digest('hex'));
  });

  it('keeps visible HTML text and drops script, style, hrefs and image alts', async () => {
    await write(
      'page.html',
      '<html><head><title>T</title><style>.x { color: red }</style><script>alert("hidden")</script></head>' +
        '<body><h1>Refund policy</h1><p>Refunds take <b>five</b> days. <a href="https://example.com/secret">Read more</a></p>' +
        '<img src="a.png" alt="alt text"></body></html>',
    );
    const [source] = (await one('page.html')).sources;
    expect(source?.kind).toBe('html');
    expect(source?.text).toMatch(/^# Refund policy$/m); // headings become Markdown for the chunker
    expect(source?.text).toContain('Refunds take five days. Read more');
    for (const hidden of ['alert', 'color: red', 'example.com', 'alt text']) expect(source?.text).not.toContain(hidden);
  });

  it('re-serialises JSON with two-space indentation', async () => {
    await write('data.json', '{"b":[1,2],"a":{"c":"d"}}');
    const [source] = (await one('data.json')).sources;
    expect(source?.text).toBe('{\n  "b": [\n    1,\n    2\n  ],\n  "a": {\n    "c": "d"\n  }\n}');
  });

  it('writes test PDFs whose xref offsets point at their objects', () => {
    const pdf = makePdf(textContent(['x'])).toString('latin1');
    const xref = pdf.slice(Number(/startxref\n(\d+)/.exec(pdf)?.[1]));
    const offsets = [...xref.matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(offsets).toHaveLength(5);
    offsets.forEach((offset, i) => expect(pdf.startsWith(`${i + 1} 0 obj`, offset)).toBe(true));
  });

  it('extracts the text layer of a hand-written PDF', async () => {
    await write('hello.pdf', makePdf(textContent(['Quarterly revenue grew 12 percent.', 'Second line here.'])));
    const r = await one('hello.pdf');
    expect(r.bad).toEqual([]);
    expect(r.sources[0]?.kind).toBe('pdf');
    expect(r.sources[0]?.text).toContain('Quarterly revenue grew 12 percent.');
    expect(r.sources[0]?.text).toContain('Second line here.');
    expect(r.sources[0]?.text).not.toMatch(/-- 1 of 1 --/);
  });
});

describe('expansion', () => {
  beforeAll(async () => {
    await write('tree/b.md', 'B\n');
    await write('tree/a.txt', 'A\n');
    await write('tree/sub/c.json', '{"c":1}');
    await write('tree/sub/skip.docx', 'x');
    await write('tree/.hidden/h.md', 'hidden\n');
    await write('tree/node_modules/pkg/readme.md', 'dep\n');
    await write('tree/.dotfile.md', 'dot\n');
  });

  it('walks a directory recursively in sorted order, skipping dot entries, node_modules and unsupported files', async () => {
    const r = await ingest(['tree'], { cwd: dir });
    expect(r.bad).toEqual([]);
    expect(r.sources.map((s) => s.path)).toEqual(['tree/a.txt', 'tree/b.md', 'tree/sub/c.json']);
  });

  it('keeps argument order across arguments and removes duplicates', async () => {
    const r = await ingest(['tree/sub/c.json', 'tree', './tree/b.md', join(dir, 'tree/a.txt')], { cwd: dir });
    expect(r.sources.map((s) => s.path)).toEqual(['tree/sub/c.json', 'tree/a.txt', 'tree/b.md']);
    expect(new Set(r.sources.map((s) => s.absPath)).size).toBe(3);
  });

  it('is deterministic from run to run', async () => {
    const first = await ingest(['tree', '**/*.md'], { cwd: dir });
    const second = await ingest(['tree', '**/*.md'], { cwd: dir });
    expect(second.sources.map((s) => s.path)).toEqual(first.sources.map((s) => s.path));
    expect(second.bad).toEqual(first.bad);
  });

  it('expands globs to sorted supported files', async () => {
    const r = await ingest(['tree/**/*.{md,json,docx}'], { cwd: dir });
    expect(r.bad).toEqual([]);
    expect(r.sources.map((s) => s.path)).toEqual(['tree/b.md', 'tree/sub/c.json']);
  });

  it('takes an existing path with glob characters literally', async () => {
    await write('lit/notes[1].md', 'literal\n');
    await write('lit/notes1.md', 'pattern\n');
    const r = await ingest(['lit/notes[1].md'], { cwd: dir });
    expect(r.sources.map((s) => s.text)).toEqual(['literal\n']);
  });

  it('names files outside cwd by absolute path', async () => {
    const r = await ingest([join(dir, 'tree/b.md')], { cwd: join(dir, 'lit') });
    expect(r.sources[0]?.path).toBe(join(dir, 'tree/b.md'));
  });

  it('follows a symlinked directory without looping', async () => {
    await write('loop/x.md', 'x\n');
    await symlink(join(dir, 'loop'), join(dir, 'loop/again'));
    const r = await ingest(['loop'], { cwd: dir });
    expect(r.sources.map((s) => s.path)).toEqual(['loop/x.md']);
  });

  it('reports an empty argument instead of reading cwd', async () => {
    expect(await ingest([''], { cwd: dir })).toEqual({ sources: [], bad: [{ path: '', reason: 'empty path' }] });
  });

  it('throws for programmer errors only', async () => {
    await expect(ingest(['tree'], { cwd: dir, maxFileBytes: 0 })).rejects.toThrow(RangeError);
  });
});

describe('bundled corpus', () => {
  it('ingests data/docs: 8 markdown sources, nothing bad', async () => {
    const root = resolve(__dirname, '..');
    const r = await ingest(['data/docs'], { cwd: root });
    expect(r.bad).toEqual([]);
    expect(r.sources).toHaveLength(8);
    expect(r.sources.every((s) => s.kind === 'md' && s.path.startsWith('data/docs/') && s.text.length > 100)).toBe(true);
  });
});
