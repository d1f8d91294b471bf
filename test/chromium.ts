/**
 * Headless Chromium for the tests that look at pages as a user would (the Web UI, `braid report`):
 * Debian's `chromium` (or BRAID_CHROMIUM) driven by playwright-core, with a fresh profile that is
 * removed when the browser closes, and nothing that reaches for the network on its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.BRAID_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(viewport?: { width: number; height: number }): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: ARGS,
  });
  // The profile goes once the browser has exited (while it runs it is still writing there).
  const close = context.close.bind(context);
  context.close = async (options) => {
    await close(options);
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  return context;
}
