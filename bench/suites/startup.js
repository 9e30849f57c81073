'use strict';
// Time from process start to /health/ready = 200, and resident memory at idle, on SQLite and PostgreSQL.
const { join } = require('node:path');
const { tempDir, testing, startServer, msUntilOk, rssMiB, stop, summary } = require('../support');

const RUNS = 3;
// Two readings: 5 s after ready, when start-up's garbage is usually still held, and 30 s after, when V8's
// memory reducer (it runs once allocation has been low for a while, about 10-20 s) has returned it: idle.
const EARLY_MS = 5000;
const IDLE_MS = 30_000;

async function measure(env) {
  const server = await startServer(env);
  const readyMs = await msUntilOk(server, '/health/ready');
  await new Promise((r) => setTimeout(r, EARLY_MS));
  const early = rssMiB(server.child.pid);
  await new Promise((r) => setTimeout(r, IDLE_MS - EARLY_MS));
  const rss = rssMiB(server.child.pid);
  const code = await stop(server);
  if (code !== 0) throw new Error(`server exited ${code}`);
  return { readyMs, early, rss };
}

async function engine(label, freshEnv) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const env = await freshEnv(i);
    cold.push(await measure(env)); // empty database: migrations run first
    warm.push(await measure(env)); // the same database again: a restart
  }
  const line = (kind, runs) => {
    const ready = summary(runs.map((r) => r.readyMs));
    const early = summary(runs.map((r) => r.early));
    const rss = summary(runs.map((r) => r.rss));
    return `| ${label} | ${kind} | ${ready.median.toFixed(0)} | ${ready.max.toFixed(0)} | ${early.median.toFixed(1)} | ${rss.median.toFixed(1)} | ${rss.max.toFixed(1)} |`;
  };
  console.log(line('empty database (migrates)', cold));
  console.log(line('restart', warm));
}

exports.run = async () => {
  console.log(`${RUNS} runs each; memory read ${EARLY_MS / 1000} s and ${IDLE_MS / 1000} s (idle) after ready.\n`);
  console.log(
    `| engine | start | ready ms (median) | ready ms (max) | RSS MiB at ${EARLY_MS / 1000} s (median) | RSS MiB idle (median) | RSS MiB idle (max) |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  await engine('SQLite', () => ({ DATABASE_PATH: join(tempDir(), 'kiroku.sqlite') }));
  const cluster = await testing.startPostgres();
  try {
    await engine('PostgreSQL 15', async (i) => ({ DATABASE_URL: await cluster.createDatabase(`bench_startup_${process.pid}_${i}`) }));
  } finally {
    await cluster.destroy();
  }
};
