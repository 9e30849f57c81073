'use strict';
// The three-replica topology (libs/testing's cluster harness: one PostgreSQL, N app processes, nginx in front):
// requests/second through nginx with one instance and with three, and the failed requests of a rolling restart
// (each instance out of nginx's rotation, SIGTERM, started again, ready, back) under steady load.
// On a machine with fewer cores than instances the processes share the cores: read the ratio with that in mind.
const autocannon = require('autocannon');
const { testing, account } = require('../support');

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const NOTES = 200;

function load(opts) {
  const instance = autocannon({ connections: CONNECTIONS, duration: DURATION, timeout: 30, ...opts });
  const done = new Promise((resolve, reject) => instance.on('done', resolve).on('error', reject));
  // What the connection errors were (a reset by nginx, a refused connect…), by code.
  const errorCodes = {};
  instance.on('reqError', (error) => {
    const code = error.code ?? error.message;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  });
  return { instance, done, errorCodes };
}

async function throughput(postgres, instances) {
  const databaseUrl = await postgres.createDatabase(`kiroku_bench_cluster_${instances}`);
  const cluster = await testing.startCluster({ instances, databaseUrl, env: { LOG_LEVEL: 'warn' } });
  try {
    const { token } = await account(cluster.url);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (let i = 0; i < NOTES; i++) {
      await fetch(`${cluster.url}/api/v1/notes`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ title: `note ${i}`, body: `body of note ${i} about deploy and review` }),
      });
    }
    const cases = [
      ['GET /api/v1/notes (list, 20)', { url: `${cluster.url}/api/v1/notes`, headers: auth }],
      [
        'POST /api/v1/notes (create)',
        { url: `${cluster.url}/api/v1/notes`, method: 'POST', headers: auth, body: JSON.stringify({ title: 'Benchmark note', body: 'A new note.' }) },
      ],
    ];
    const results = [];
    for (const [name, opts] of cases) {
      await load({ ...opts, duration: 2 }).done; // warm-up
      results.push([name, await load(opts).done]);
    }
    return { cluster, results, auth };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function run() {
  const postgres = await testing.startPostgres();
  try {
    const one = await throughput(postgres, 1);
    await one.cluster.stop();
    const three = await throughput(postgres, 3);
    try {
      console.log(`\n${CONNECTIONS} connections through nginx, ${DURATION} s per measurement, one PostgreSQL\n`);
      console.log('| request | 1 instance req/s | 3 instances req/s | ratio | p99 ms (1 / 3) | non-2xx (1 / 3) |');
      console.log('| --- | --- | --- | --- | --- | --- |');
      for (let i = 0; i < one.results.length; i++) {
        const [name, a] = one.results[i];
        const [, b] = three.results[i];
        console.log(
          `| ${name} | ${a.requests.average.toFixed(0)} | ${b.requests.average.toFixed(0)} | ${(b.requests.average / a.requests.average).toFixed(2)}× | ${a.latency.p99} / ${b.latency.p99} | ${a.non2xx} / ${b.non2xx} |`,
        );
      }

      // Rolling restart under steady load: reads and writes, until the last instance is back.
      const steps = [];
      const started = Date.now();
      const reads = load({ url: `${three.cluster.url}/api/v1/notes`, headers: three.auth, duration: 600, connections: Math.ceil(CONNECTIONS / 2) });
      const writes = load({
        url: `${three.cluster.url}/api/v1/notes`,
        method: 'POST',
        headers: three.auth,
        body: JSON.stringify({ title: 'during restart', body: 'x' }),
        duration: 600,
        connections: Math.ceil(CONNECTIONS / 2),
      });
      await new Promise((r) => setTimeout(r, 1000));
      await three.cluster.rollingRestart((index, step) => steps.push(`${((Date.now() - started) / 1000).toFixed(1)} s kiroku-${index + 1} ${step}`));
      await new Promise((r) => setTimeout(r, 1000));
      reads.instance.stop();
      writes.instance.stop();
      const [r, w] = await Promise.all([reads.done, writes.done]);
      const seconds = (Date.now() - started) / 1000;
      console.log(`\nrolling restart of 3 instances under load (${seconds.toFixed(1)} s):\n`);
      console.log('| traffic | requests | req/s | non-2xx responses | connection errors | timeouts |');
      console.log('| --- | --- | --- | --- | --- | --- |');
      for (const [name, x, codes] of [
        ['GET /api/v1/notes', r, reads.errorCodes],
        ['POST /api/v1/notes', w, writes.errorCodes],
      ]) {
        const detail = Object.entries(codes)
          .map(([code, n]) => `${n} ${code}`)
          .join(', ');
        console.log(
          `| ${name} | ${x.requests.total} | ${x.requests.average.toFixed(0)} | ${x.non2xx} | ${x.errors}${detail ? ` (${detail})` : ''} | ${x.timeouts} |`,
        );
      }
      console.log(`\nsteps: ${steps.join('; ')}`);
    } finally {
      await three.cluster.stop();
    }
  } finally {
    await postgres.destroy();
  }
}

module.exports = { run };
