/**
 * Debian's Chromium as every browser suite launches it (wtr, Playwright, the benches): no
 * downloaded browser, headless, and without the background traffic that a machine with no
 * network answers with refused connections.
 */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless=new',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Chromium refuses to start sandboxed as root (CI containers).
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];
