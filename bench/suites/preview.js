'use strict';
/* global document, MutationObserver, requestAnimationFrame -- functions given to page.evaluate run in the page */
// The editor's live preview, as a person typing sees it: in Chromium (Debian's), on /notes/new with a note of
// PREVIEW_CHARS characters (20,000) of mixed Markdown (headings, lists, tasks, tables, highlighted code), each sample
// adds a word at the end of the text and times until the preview shows it and the next frame is drawn: the pause the
// script waits for, the request, the server's render and sanitising, and the DOM update. The same at 2,000
// characters, for the ratio. Then the server's part alone: POST /notes/preview at 1 connection.
//   PREVIEW_CHARS (20000), PREVIEW_SAMPLES per size (40), PREVIEW_REQUESTS server-only requests (200)
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { tempDir, testing, startServer, msUntilOk, stop, account } = require('../support');

const CHARS = Number(process.env.PREVIEW_CHARS ?? 20_000);
const SAMPLES = Number(process.env.PREVIEW_SAMPLES ?? 40);
const REQUESTS = Number(process.env.PREVIEW_REQUESTS ?? 200);
const CHROMIUM = '/usr/bin/chromium';

const SECTION = [
  '## Deploy {n}',
  '',
  'Drain the node, wait for **readiness**, roll the next one and watch the [error rate](/admin). `kubectl rollout status`.',
  '',
  '- [x] freeze the branch',
  '- [ ] tag the release',
  '  1. write the notes',
  '',
  '| step | owner | minutes |',
  '|:-----|:------|--------:|',
  '| build | Ada | 12 |',
  '',
  '```ts',
  'export async function roll(nodes: string[]): Promise<void> {',
  '  for (const node of nodes) await drain(node); // one at a time',
  '}',
  '```',
  '',
  '> 会議は東京で。次の手順を確認してください。',
  '',
].join('\n');

/** Markdown of about `chars` characters: numbered sections of the above. */
function documentOf(chars) {
  let text = '';
  for (let n = 1; text.length < chars; n++) text += SECTION.replace('{n}', String(n));
  return text.slice(0, chars);
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (n) => n.toFixed(1).padStart(7);

/** Typing-to-preview times on the page, `SAMPLES` of them, for a text of `chars` characters. */
async function typingSamples(page, base, chars) {
  await page.goto(`${base}/notes/new`);
  await page.fill('#title', 'Preview bench');
  const text = documentOf(chars);
  await page.evaluate((t) => {
    const body = document.querySelector('#body');
    body.value = t;
    body.dispatchEvent(new Event('input', { bubbles: true }));
  }, text);
  await page.waitForFunction(() => document.querySelector('[data-preview-html] table') !== null, undefined, { timeout: 30_000 });
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push(
      await page.evaluate(
        (marker) =>
          new Promise((resolve) => {
            const body = document.querySelector('#body');
            const out = document.querySelector('[data-preview-html]');
            const started = performance.now();
            const seen = new MutationObserver(() => {
              if (!out.textContent.includes(marker)) return;
              seen.disconnect();
              requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
            });
            seen.observe(out, { childList: true, subtree: true, characterData: true });
            body.setRangeText(` ${marker}`, body.value.length, body.value.length, 'end');
            body.dispatchEvent(new Event('input', { bubbles: true }));
          }),
        `word${i}x`,
      ),
    );
    await page.waitForTimeout(50);
  }
  return samples;
}

async function run() {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`skipped: ${CHROMIUM} not found (apt-get install chromium)\n`);
    return;
  }
  const port = await testing.freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer({ DATABASE_PATH: join(tempDir(), 'preview.sqlite'), PORT: String(port), PUBLIC_URL: base, WEB_CONCURRENCY: '1' });
  try {
    await msUntilOk(server, '/health/ready');
    const { session } = await account(base);
    const { chromium } = require('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const rows = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const [name, value] = session.split('=');
      await context.addCookies([{ name, value, url: base }]);
      const page = await context.newPage();
      for (const chars of [2_000, CHARS]) {
        const samples = await typingSamples(page, base, chars);
        rows.push({ what: `typing → preview drawn, ${chars.toLocaleString('en-US')} chars`, samples });
      }
      // The server's part alone: the request the page sends, at 1 connection.
      await page.goto(`${base}/notes/new`);
      const csrf = await page.inputValue('input[name="_csrf"]');
      for (const chars of [2_000, CHARS]) {
        const form = new URLSearchParams({ body: documentOf(chars) }).toString();
        const samples = [];
        for (let i = 0; i < REQUESTS; i++) {
          const started = process.hrtime.bigint();
          const res = await fetch(`${base}/notes/preview`, {
            method: 'POST',
            headers: { cookie: session, 'x-csrf-token': csrf, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
            body: form,
          });
          await res.text();
          if (res.status !== 200) throw new Error(`preview: ${res.status}`);
          samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        rows.push({ what: `POST /notes/preview, ${chars.toLocaleString('en-US')} chars`, samples });
      }
    } finally {
      await browser.close();
    }
    process.stdout.write(`| what | n | p50 ms | p95 ms | max ms |\n|---|--:|--:|--:|--:|\n`);
    for (const { what, samples } of rows)
      process.stdout.write(`| ${what} | ${samples.length} | ${ms(percentile(samples, 50))} | ${ms(percentile(samples, 95))} | ${ms(Math.max(...samples))} |\n`);
    const [small, large] = rows;
    process.stdout.write(
      `\ntyping → preview at ${CHARS.toLocaleString('en-US')} chars: p95 ${percentile(large.samples, 95).toFixed(1)} ms (goal < 150 ms); ` +
        `${(percentile(large.samples, 50) / percentile(small.samples, 50)).toFixed(2)}× the p50 at 2,000 chars\n`,
    );
  } finally {
    await stop(server);
  }
}

module.exports = { run };
