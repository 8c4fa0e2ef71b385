import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's chromium, installed on first use when missing (the tests run as root on a fresh
 * machine; nothing is downloaded outside the distribution's packages).
 */
export const ensureChromium = (): void => {
  if (existsSync(CHROMIUM)) return;
  try {
    execFileSync(
      'sh',
      ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'],
      {
        stdio: 'ignore',
        timeout: 15 * 60_000,
      },
    );
  } catch (error) {
    throw new Error(
      `chromium is missing and could not be installed with apt-get: ${(error as Error).message}`,
    );
  }
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is still missing at ${CHROMIUM}`);
};

export const launchChromium = (): Promise<Browser> => {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
};
