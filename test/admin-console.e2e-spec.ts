import { join } from 'node:path';
import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { projectRoot, tempDir } from '@kiroku/testing';
import type { Browser } from 'playwright-core';
import { AlertEvaluator } from '../src/modules/alerts';
import { Instance, InstanceRegistry } from '../src/modules/cluster';
import { MetricSample, MetricsSampler } from '../src/modules/metrics';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
// The console's screenshots are taken on every run (they must render), but written over the committed ones in
// docs/screenshots only when asked: `KIROKU_SCREENSHOTS=1 npx jest test/admin-console`. A plain `npm test` leaves
// the working tree as it was.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const MIN = 60_000;

(missing ? describe.skip : describe)('ops console in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp({ LOG_DIR: tempDir(), ALERT_PENDING: '0s', ALERT_DISK_WARN: '0.001', ALERT_DISK_CRIT: '0.999' }, { clock }));
    // An hour of history from two other replicas (one of which stopped answering 10 minutes ago), as they would have recorded it.
    const db = t.app.get(Database);
    const now = clock.nowMs();
    await db.transaction(async (m) => {
      for (const [id, address, silentFor] of [
        ['replica-b', 'kiroku-b:8888', 0],
        ['replica-c', 'kiroku-c:8888', 10 * MIN],
      ] as const) {
        await m.insert(Instance, {
          id,
          hostname: address.split(':')[0],
          pid: 4242,
          address,
          ready: 1,
          notReadyReason: null,
          version: '0.1.0',
          engine: 'sqlite',
          startedAt: new Date(now - 2 * 3_600_000),
          heartbeatAt: new Date(now - silentFor),
          stoppedAt: null,
        });
        const rows: MetricSample[] = [];
        for (let i = 60; i >= 1; i--) {
          if (silentFor && i * MIN < silentFor) continue;
          const wave = Math.sin(i / 6);
          rows.push({
            instanceId: id,
            at: new Date(now - i * MIN),
            periodMs: MIN,
            requests: Math.round(3000 + 1500 * wave),
            errors: i > 20 && i < 26 ? 180 : 3,
            latencyP95Us: Math.round(18_000 + 9000 * wave),
            cpuPermille: Math.round(350 + 200 * wave),
            rssBytes: Math.round((180 + 20 * wave) * 2 ** 20),
            heapUsedBytes: 9e7,
            loopLagP99Us: 12_000,
            diskDataPermille: 420 + Math.round((60 - i) / 2),
            diskLogsPermille: null,
            logEmergency: 0,
          });
        }
        await m.insert(MetricSample, rows);
      }
    });
    await t.app.get(MetricsSampler).sample();
    await t.app.get(InstanceRegistry).beat();
    await t.app.get(AlertEvaluator).tick(); // disk warning (threshold below usage) and replica-c down fire
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows instances, firing alerts, backups and six charts at a glance, with no CSP violation', async () => {
    const violations: string[] = [];
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await watchCsp(page, violations);
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', 'Operator');
    await page.fill('#email', 'ops@example.com');
    await page.fill('#password', 'a long enough passphrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);

    await page.goto(`${base}/admin`);
    await page.waitForSelector('#charts[data-ready="true"]', { timeout: 15_000 });
    expect(await page.locator('#charts [data-error]').count()).toBe(0);
    expect(await page.locator('#charts canvas').count()).toBe(6);
    const text = await page.locator('main').innerText();
    expect(text).toContain('Instance down');
    expect(text).toContain('kiroku-c:8888');
    expect(text).toContain('Disk filling up');
    expect(await page.locator('#instances tbody tr').count()).toBe(3);
    expect(await page.locator('#instances .badge.warn').innerText()).toBe('missing');
    // Every live instance recorded its readiness with its heartbeat.
    expect(await page.locator('#instances .badge:text-is("ready")').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'admin-console-desktop.png'), fullPage: true });

    await page.click('nav.ranges a:has-text("day")');
    await page.waitForSelector('#charts[data-ready="true"]');
    expect(page.url()).toBe(`${base}/admin?range=day`);

    await page.goto(`${base}/admin/alerts`);
    expect(await page.locator('main').innerText()).toContain('Instance down');
    await page.screenshot({ path: join(SHOTS, 'admin-alerts-desktop.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/admin`);
    await page.waitForSelector('#charts[data-ready="true"]');
    await page.screenshot({ path: join(SHOTS, 'admin-console-phone.png'), fullPage: true });
    expect(violations).toEqual([]);
    await context.close();
  });

  it('lets an admin forget a missing instance, which resolves its instance-down alert and is audited', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('#email', 'ops@example.com');
    await page.fill('#password', 'a long enough passphrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
    await page.goto(`${base}/admin`);
    const row = page.locator('#instances tr', { hasText: 'kiroku-c:8888' });
    await Promise.all([page.waitForURL(`${base}/admin#instances`), row.locator('button', { hasText: 'Forget' }).click()]);
    expect(await page.locator('.flash').innerText()).toContain('recorded as stopped');
    expect(await page.locator('#instances tr', { hasText: 'kiroku-c:8888' }).locator('.badge').first().innerText()).toBe('stopped');

    await t.app.get(AlertEvaluator).evaluate(); // clear from now on
    clock.advance(6 * MIN); // past ALERT_RECOVERY (5 min)
    await t.app.get(InstanceRegistry).beat();
    await t.app.get(AlertEvaluator).evaluate();
    const history = await t.app.get(AlertEvaluator).history();
    expect(history.find((a) => a.rule === 'instance-down' && a.subject === 'kiroku-c:8888')).toMatchObject({ status: 'resolved' });
    await page.goto(`${base}/admin/audit`);
    expect(await page.locator('main').innerText()).toContain('instance.forget');
    // A live instance cannot be forgotten.
    const registry = t.app.get(InstanceRegistry);
    const live = await registry.forget(registry.instanceId);
    expect(live).toBe(false);
    await context.close();
  });

  it("writes chart times in the account's language and time zone, 24-hour, whatever the browser's", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'America/New_York' });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('#email', 'ops@example.com');
    await page.fill('#password', 'a long enough passphrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
    await page.goto(`${base}/account`);
    await page.selectOption('#locale', 'ja');
    await page.selectOption('#timeZone', 'Asia/Tokyo');
    await Promise.all([page.waitForURL(/\/account/), page.click('form[action="/account/preferences"] button')]);
    await page.goto(`${base}/admin?range=day`);
    await page.waitForSelector('#charts[data-ready="true"]');
    expect(await page.getAttribute('#charts', 'data-time-zone')).toBe('Asia/Tokyo');
    // The legend of a chart with several lines names the time under the pointer.
    const figure = page.locator('[data-chart]:has(.u-legend)').first();
    const over = figure.locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 2, y: box.height / 2 } });
    expect(await figure.locator('.u-legend .u-label').first().innerText()).toBe('時刻');
    const shown = await figure.locator('.u-legend .u-series').first().locator('.u-value').innerText();
    expect(shown).toMatch(/^\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
    expect(shown).not.toMatch(/AM|PM|午前|午後/);
    // It is one of the chart's times as Tokyo writes it (New York's would be 13 or 14 hours off).
    const data = await page.evaluate(async () => (await (await fetch('/admin/metrics?range=day')).json()) as { t: number[] });
    const tokyo = new Intl.DateTimeFormat('ja-JP', {
      timeZone: 'Asia/Tokyo',
      hourCycle: 'h23',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
    expect(data.t.map((s) => tokyo.format(s * 1000))).toContain(shown);
    await context.close();
  });

  it('serves the chart data to admins only', async () => {
    const anonymous = await fetch(`${base}/admin/metrics?range=hour`, { redirect: 'manual' });
    expect([302, 303, 401, 403, 404]).toContain(anonymous.status);
    expect(await anonymous.text()).not.toContain('requests/s');
  });
});
