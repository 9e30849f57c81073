'use strict';
// The cost of metrics: the same page at 50 connections with METRICS_ENABLED=false and true (request
// counting, latency histogram, history sampling), in one run; then how long /metrics takes to render.
const autocannon = require('autocannon');
const { join } = require('node:path');
const { tempDir, startServer, msUntilOk, stop, summary } = require('../support');

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const TOKEN = 'bench-metrics-token-0123456789abcdef';
const cannon = (opts) => new Promise((resolve, reject) => autocannon(opts, (e, r) => (e ? reject(e) : resolve(r))));

exports.run = async () => {
  console.log(`GET /login for ${DURATION} s at 50 connections after a 2 s warm-up, SQLite, history sampled every second (60x the default) while loaded.\n`);
  console.log('Off and on alternate, twice, so that drift in the machine (other load, CPU frequency) falls on both.\n');
  console.log('| round | metrics | req/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  const rates = { false: [], true: [] };
  let on;
  for (const [round, label, enabled] of [
    [1, 'off', 'false'],
    [1, 'on', 'true'],
    [2, 'off', 'false'],
    [2, 'on', 'true'],
  ]) {
    const s = await startServer({
      DATABASE_PATH: join(tempDir(), 'k.sqlite'),
      LOG_DIR: tempDir(),
      METRICS_ENABLED: enabled,
      METRICS_TOKEN: TOKEN,
      METRICS_SAMPLE_INTERVAL: '1s',
    });
    await msUntilOk(s, '/health/ready');
    await cannon({ url: `${s.url}/login`, connections: 50, duration: 2 });
    const r = await cannon({ url: `${s.url}/login`, connections: 50, duration: DURATION });
    rates[enabled].push(r.requests.average);
    console.log(`| ${round} | ${label} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} |`);
    if (round === 2 && enabled === 'true') on = s;
    else await stop(s);
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [offRate, onRate] = [mean(rates.false), mean(rates.true)];
  console.log(
    `\nMean req/s: off ${offRate.toFixed(0)}, on ${onRate.toFixed(0)}: metrics cost ${(((offRate - onRate) / offRate) * 100).toFixed(1)}% of throughput (goal: under 5%).`,
  );
  try {
    // Render time of /metrics after the load above (every route's series populated), one scrape at a time.
    const times = [];
    let bytes = 0;
    for (let i = 0; i < 200; i++) {
      const started = process.hrtime.bigint();
      const res = await fetch(`${on.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      bytes = (await res.text()).length;
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const s = summary(times.slice(20));
    const p95 = [...times.slice(20)].sort((a, b) => a - b)[Math.floor(0.95 * 180)];
    console.log(
      `\nGET /metrics (${(bytes / 1024).toFixed(1)} KiB), 180 scrapes after 20 warm-up, round trip: median ${s.median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`,
    );
  } finally {
    await stop(on);
  }
};
