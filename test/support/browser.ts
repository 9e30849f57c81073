/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '@kiroku/testing';
import { freshDatabase } from './engines';
import { startTestApp, TestApp, TestAppOptions } from './test-app';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser suites cannot run here, or undefined when they can. In CI a missing browser fails instead. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `${CHROMIUM} not found (apt-get install chromium)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true but ${reason}: browser suites cannot be skipped in CI`);
  console.warn(`\n!!! ${reason}: browser suites are SKIPPED !!!\n`);
  return reason;
}

/** Debian's Chromium, headless, with no network beyond this machine; extra host names map to 127.0.0.1. */
export async function launchChromium(hostAliases: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const rules = hostAliases.map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
    ],
  });
}

/** Collects CSP violations reported by the page (events and console messages) into `violations`. */
export async function watchCsp(page: Page, violations: string[]): Promise<string[]> {
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  await page.exposeFunction('__reportCsp', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __reportCsp(v: string): void }).__reportCsp(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return violations;
}

/**
 * The app on a fresh SQLite database, reached by the browser as http://localhost:PORT: PUBLIC_URL must
 * name the same origin the browser uses, or the CSRF origin check refuses its forms.
 */
export async function startBrowserTestApp(
  overrides: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<{ t: TestApp; base: string }> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const t = await startTestApp({ ...(await freshDatabase('sqlite')), PUBLIC_URL: base, ...overrides }, { ...options, port });
  return { t, base };
}

/** Signs a new account up through the page, as a person does; the page ends on the notes list. */
export async function signUpInBrowser(page: Page, base: string, email: string, displayName = email.split('@')[0]): Promise<void> {
  await page.goto(`${base}/signup`);
  await page.fill('#displayName', displayName);
  await page.fill('#email', email);
  await page.fill('#password', 'a long enough passphrase');
  await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
}
