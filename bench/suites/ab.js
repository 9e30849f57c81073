'use strict';
// Two builds side by side, for a change too small to see across runs minutes apart (this machine's speed drifts
// by a quarter within minutes). Before the change: `npm run build && mkdir -p .bench-ab && cp -r dist .bench-ab/before`;
// after it: `npm run bench -- ab` (which builds dist first). Both servers get the same seeded data (a copy each
// on SQLite, one database on PostgreSQL) and take turns under the same load; the median server CPU per request
// (/proc/<pid>/stat) of each is printed, with its req/s and its garbage collection (from its /metrics); then the
// same request at one connection, the builds in turn, for p50 and p99.
//   AB_BEFORE  the other build's dist folder (.bench-ab/before), inside this repository so that it finds
//              node_modules, package.json and config/ as dist does
//   AB_PATH    the request (/api/v1/notes); AB_AUTH token | cookie | none (token)
//   AB_METHOD  GET | POST (GET); AB_BODY the JSON body of a POST, e.g. a note to create
//   AB_ROUNDS  rounds per build (8); AB_SECONDS seconds per round (3); BENCH_NOTES notes (100,000);
//   BENCH_ENGINE sqlite | postgres (sqlite)
//   AB_BEFORE_ENV, AB_AFTER_ENV  settings or NODE_OPTIONS for one side only, as JSON ('{"NODE_OPTIONS":"..."}'):
//              with a copy of the same build as "before", compares two ways of running one build
const { copyFileSync, existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const autocannon = require('autocannon');
const { root, tempDir, testing, startServer, msUntilOk, stop, account, measure, percentiles } = require('../support');
const notes = require('./notes');

const BEFORE = resolve(root, process.env.AB_BEFORE ?? '.bench-ab/before');
const PATH = process.env.AB_PATH ?? '/api/v1/notes';
const AUTH = process.env.AB_AUTH ?? 'token';
const METHOD = process.env.AB_METHOD ?? 'GET';
const BODY = process.env.AB_BODY;
const ROUNDS = Number(process.env.AB_ROUNDS ?? 8);
const SECONDS = Number(process.env.AB_SECONDS ?? 3);
const SIDE_ENV = { before: JSON.parse(process.env.AB_BEFORE_ENV ?? '{}'), after: JSON.parse(process.env.AB_AFTER_ENV ?? '{}') };

const METRICS_TOKEN = 'bench-ab-metrics-token-0123456789';

async function start(label, dist, env) {
  const server = { ...(await startServer({ PUBLIC_URL: 'http://127.0.0.1', METRICS_TOKEN, ...env }, dist)), label };
  await msUntilOk(server, '/health/ready');
  return server;
}

/** User and system CPU time of a process so far, in milliseconds. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

/** The process's garbage collection so far, from its /metrics: how many major (mark-compact) collections, and seconds in all. */
async function gc(server) {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const sum = (pattern) => [...text.matchAll(pattern)].reduce((total, m) => total + Number(m[1]), 0);
  return {
    major: sum(/^nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)$/gm),
    seconds: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

exports.run = async () => {
  if (!existsSync(join(BEFORE, 'src/main.js'))) {
    console.log(`nothing to compare: no build in ${BEFORE} (before a change: npm run build && mkdir -p .bench-ab && cp -r dist .bench-ab/before)`);
    return;
  }
  const engine = process.env.BENCH_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
  const cluster = engine === 'postgres' ? await testing.startPostgres() : null;
  try {
    const base = cluster ? { DATABASE_URL: await cluster.createDatabase('bench_ab') } : { DATABASE_PATH: join(tempDir(), 'seed.sqlite') };
    // Seed through the build before the change, then stop it: each server under test starts on the finished data,
    // and the build after the change migrates it at start as an upgrade would (its copy on SQLite; on PostgreSQL
    // the one database, once the build before is already serving).
    const seeder = await start('seed', BEFORE, base);
    const acct = await account(seeder.url);
    await notes._seed(base, acct.userId, undefined, BEFORE);
    await stop(seeder);
    const envFor = (name) => {
      if (cluster) return base;
      const file = join(tempDir(), `${name}.sqlite`);
      copyFileSync(base.DATABASE_PATH, file);
      return { DATABASE_PATH: file };
    };
    const servers = [
      await start('before', BEFORE, { ...envFor('before'), ...SIDE_ENV.before }),
      await start('after', join(root, 'dist'), { ...envFor('after'), ...SIDE_ENV.after }),
    ];
    const headers = {
      ...(AUTH === 'cookie' ? { cookie: acct.session } : AUTH === 'token' ? { authorization: `Bearer ${acct.token}` } : {}),
      ...(BODY === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const load = (server, duration) =>
      new Promise((res, rej) =>
        autocannon({ url: server.url + PATH, method: METHOD, body: BODY, headers, connections: 50, duration }, (e, r) => (e ? rej(e) : res(r))),
      );
    try {
      for (const server of servers) await load(server, 2); // warm-up
      const figures = { before: [], after: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const server of round % 2 ? [...servers].reverse() : servers) {
          const [cpu, gcBefore] = [cpuMs(server.child.pid), await gc(server)];
          const result = await load(server, SECONDS);
          if (result.non2xx) throw new Error(`${server.label}: ${result.non2xx} answers were not 2xx`);
          const [cpuAfter, gcAfter] = [cpuMs(server.child.pid), await gc(server)];
          figures[server.label].push({
            us: (1000 * (cpuAfter - cpu)) / result.requests.total,
            rps: result.requests.average,
            gcUs: (1e6 * (gcAfter.seconds - gcBefore.seconds)) / result.requests.total,
            majorPer10k: (10_000 * (gcAfter.major - gcBefore.major)) / result.requests.total,
          });
        }
      }
      console.log(
        `${Number(process.env.BENCH_NOTES ?? 100_000).toLocaleString('en')} notes on ${engine}; ${METHOD} ${PATH} (${AUTH}), 50 connections, ${ROUNDS} alternating rounds of ${SECONDS} s per build\n`,
      );
      console.log(
        '| build | median server CPU per request | median req/s | GC per request (median) | major GCs per 10,000 requests (median) | CPU per request, each round |',
      );
      console.log('| --- | --- | --- | --- | --- | --- |');
      for (const label of ['before', 'after']) {
        const rows = figures[label];
        console.log(
          `| ${label} | ${median(rows.map((r) => r.us)).toFixed(0)} µs | ${median(rows.map((r) => r.rps)).toFixed(0)} | ${median(rows.map((r) => r.gcUs)).toFixed(0)} µs | ${median(rows.map((r) => r.majorPer10k)).toFixed(1)} | ${rows.map((r) => r.us.toFixed(0)).join(' ')} |`,
        );
      }
      // One connection: latency where queueing does not decide it, the builds in turn so that a drift falls on both.
      const one = { before: [], after: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const server of round % 2 ? [...servers].reverse() : servers) {
          const result = await measure(SECONDS, () => [server.url + PATH, { method: METHOD, headers, body: BODY }]);
          if (result.failed) throw new Error(`${server.label}: ${result.failed} answers at one connection were not 2xx`);
          one[server.label].push(...result.times);
        }
      }
      console.log(`\nOne connection, ${ROUNDS} alternating rounds of ${SECONDS} s per build (exact times):\n`);
      console.log('| build | requests | p50 ms | p99 ms | p99.9 ms |');
      console.log('| --- | --- | --- | --- | --- |');
      for (const label of ['before', 'after']) {
        const times = one[label];
        const { p50, p99 } = percentiles(times);
        const p999 = [...times].sort((a, b) => a - b)[Math.floor(0.999 * times.length)];
        console.log(`| ${label} | ${times.length} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${p999.toFixed(2)} |`);
      }
    } finally {
      for (const server of servers) await stop(server);
    }
  } finally {
    await cluster?.destroy();
  }
};
