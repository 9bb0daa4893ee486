/**
 * Debian's Chromium driven by Playwright (`playwright-core`, no downloaded browser), headless
 * and offline-friendly.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const ARGS = [
  '--headless=new',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Chromium refuses to start sandboxed as root (CI containers).
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 120_000 });
}
