'use strict';
// WEB_CONCURRENCY: start-up and memory of a machine of workers, and throughput at 8 connections with
// WEB_CONCURRENCY=auto against the same build with WEB_CONCURRENCY=1, on SQLite, with wrk on the same machine.
const { execFileSync, spawnSync } = require('node:child_process');
const { availableParallelism } = require('node:os');
const { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { tempDir, startServer, msUntilOk, rssMiB, stop, summary, account } = require('../support');
const { _seed: seed } = require('./notes');

const NOTES = Number(process.env.BENCH_NOTES ?? 10_000);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 8;
const STARTS = Number(process.env.BENCH_STARTS ?? 3);
const KINDS = (process.env.BENCH_KINDS ?? 'list,get,search,create').split(',');

/** The primary's workers: its child processes. */
function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function startupFigures(env) {
  const runs = [];
  for (let i = 0; i < STARTS; i++) {
    const server = await startServer({ ...env, DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), WEB_CONCURRENCY: 'auto' });
    const readyMs = await msUntilOk(server, '/health/ready');
    const read = () => {
      const workers = children(server.child.pid).map(rssMiB);
      const primary = rssMiB(server.child.pid);
      return { primary, worker: Math.max(...workers), total: primary + workers.reduce((a, b) => a + b, 0), workers: workers.length };
    };
    await new Promise((r) => setTimeout(r, 5000));
    const early = read();
    await new Promise((r) => setTimeout(r, 25_000));
    const idle = read();
    const code = await stop(server);
    if (code !== 0) throw new Error(`server exited ${code}`);
    runs.push({ readyMs, early, idle });
  }
  const med = (pick) => summary(runs.map(pick)).median;
  console.log(
    `\nStart-up of a machine with WEB_CONCURRENCY=auto (${runs[0].idle.workers} workers), empty SQLite database, ${STARTS} runs (median; max in brackets):\n`,
  );
  console.log('| ready ms | primary MiB at 5 s | primary MiB idle | largest worker MiB at 5 s | largest worker MiB idle | machine MiB idle |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const max = (pick) => summary(runs.map(pick)).max;
  console.log(
    `| ${med((r) => r.readyMs).toFixed(0)} (${max((r) => r.readyMs).toFixed(0)}) | ${med((r) => r.early.primary).toFixed(1)} | ${med((r) => r.idle.primary).toFixed(1)} (${max((r) => r.idle.primary).toFixed(1)}) | ${med((r) => r.early.worker).toFixed(1)} | ${med((r) => r.idle.worker).toFixed(1)} (${max((r) => r.idle.worker).toFixed(1)}) | ${med((r) => r.idle.total).toFixed(1)} |`,
  );
}

/** The machine's CPU time so far, in clock ticks: all of it, and the idle part (idle and iowait). */
function cpuTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), idle: fields[3] + fields[4] };
}

/** CPU time in clock ticks of a process (user and system) and of its children it has waited for. */
function processTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { own: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]) };
}

/** The server's CPU time so far, in clock ticks: the primary's and every worker's. */
const serverTicks = (pid) => [pid, ...children(pid)].reduce((sum, p) => sum + processTicks(p).own, 0);

/** How often the scheduler has taken a core from the server (the primary and every worker) so far. */
const serverPreemptions = (pid) =>
  [pid, ...children(pid)].reduce((sum, p) => sum + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1]), 0);

/** Clock ticks per second (USER_HZ). */
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * Runs wrk against the server with a Lua script; returns req/s, latency percentiles in ms, the machine's busy CPU
 * share, and the CPU time per request of the server and of wrk (this process's reaped children: wrk only, as the
 * server is still running).
 */
function wrk(server, script) {
  const sample = () => ({
    machine: cpuTicks(),
    server: serverTicks(server.child.pid),
    preempted: serverPreemptions(server.child.pid),
    wrk: processTicks(process.pid).reaped,
  });
  const before = sample();
  const out = spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', '-s', script, server.url], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  const after = sample();
  const busy = 1 - (after.machine.idle - before.machine.idle) / (after.machine.total - before.machine.total);
  const text = out.stdout;
  const ms = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
  };
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0) + Number(/Socket errors: .*?timeout (\d+)/.exec(text)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)[1]);
  const requests = Number(/(\d+) requests in/.exec(text)[1]);
  const usPerRequest = (ticks) => (ticks / HZ / requests) * 1e6;
  return {
    rps,
    p50: ms(50),
    p99: ms(99),
    errors,
    busy,
    serverUs: usPerRequest(after.server - before.server),
    wrkUs: usPerRequest(after.wrk - before.wrk),
    preemptedPer1000: ((after.preempted - before.preempted) * 1000) / requests,
  };
}

function scripts(dir, token, ids) {
  const words = ['deploy', 'backup', 'meeting', 'kubernetes', 'kariro', 'nemoto', '"design review"', 'release -incident', 'tag:tag7', '会議'];
  const header = `wrk.headers["Authorization"] = "Bearer ${token}"\nwrk.headers["Content-Type"] = "application/json"\n`;
  const list = (name, items) => `local ${name} = {${items.map((i) => JSON.stringify(i)).join(',')}}\nlocal n = 0\n`;
  const files = {
    list: `${header}wrk.path = "/api/v1/notes"\n`,
    get: `${header}${list('ids', ids)}request = function()\n  n = n + 1\n  return wrk.format("GET", "/api/v1/notes/" .. ids[(n % #ids) + 1])\nend\n`,
    search: `${header}${list('qs', words.map(encodeURIComponent))}request = function()\n  n = n + 1\n  return wrk.format("GET", "/api/v1/notes?q=" .. qs[(n % #qs) + 1])\nend\n`,
    create: `${header}local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", "/api/v1/notes", nil, '{"title":"bench ' .. n .. '","body":"a note written by the workers bench","tags":["bench"]}')\nend\n`,
  };
  return Object.fromEntries(
    Object.entries(files).map(([kind, lua]) => {
      const file = join(dir, `${kind}.lua`);
      writeFileSync(file, lua);
      return [kind, file];
    }),
  );
}

exports.run = async () => {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is missing: apt-get install wrk');
  if (STARTS > 0) await startupFigures({});

  const dir = tempDir();
  const env = { DATABASE_PATH: join(dir, 'kiroku.sqlite'), PUBLIC_URL: 'http://127.0.0.1' };
  let server = await startServer({ ...env, WEB_CONCURRENCY: '1' });
  await msUntilOk(server, '/health/ready');
  const { token, userId } = await account(server.url);
  const { ids } = await seed(env, userId, NOTES);
  await stop(server);
  // Every server starts from this copy: the notes one run creates would otherwise grow the next run's database
  // (40,000 more notes by the last round), and a search or a tag filter that walks past them would cost more.
  const seeded = join(dir, 'seeded.sqlite');
  const copy = (from, to) => {
    for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true });
    copyFileSync(from, to);
    if (existsSync(from + '-wal')) copyFileSync(from + '-wal', to + '-wal');
  };
  copy(env.DATABASE_PATH, seeded);
  const fresh = () => {
    copy(seeded, env.DATABASE_PATH);
    execFileSync('sync');
  };
  const lua = scripts(dir, token, ids.slice(0, 500));

  const kinds = KINDS;
  const results = { 1: {}, auto: {} };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the two, so that drift of this shared machine falls on both.
    for (const concurrency of round % 2 === 0 ? ['1', 'auto'] : ['auto', '1']) {
      fresh();
      server = await startServer({ ...env, WEB_CONCURRENCY: concurrency });
      await msUntilOk(server, '/health/ready');
      for (const kind of kinds) {
        spawnSync('wrk', ['-t2', `-c${CONNECTIONS}`, '-d2s', '-s', lua[kind], server.url]); // warm-up
        (results[concurrency][kind] ??= []).push(wrk(server, lua[kind]));
      }
      await stop(server);
    }
  }
  const auto = Math.min(availableParallelism(), 8);
  console.log(
    `\n${NOTES.toLocaleString('en')} notes on SQLite; wrk, ${CONNECTIONS} connections, ${DURATION} s per kind after a 2 s warm-up, ${ROUNDS} alternating rounds (best round shown); WEB_CONCURRENCY=auto is ${auto} workers here.\n`,
  );
  console.log(
    'CPU busy: the share of all cores busy during the run (the server and wrk together, from /proc/stat). auto ÷ 1 is rounded down to two decimals.\n',
  );
  console.log('| request | WEB_CONCURRENCY=1 req/s | p50 / p99 ms | CPU busy | auto req/s | p50 / p99 ms | CPU busy | auto ÷ 1 | errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const pct = (share) => `${(share * 100).toFixed(0)}%`;
  // Rounded down: a ratio under the goal (1.598) never prints as the goal (1.60).
  const ratio = (x) => (Math.floor(x * 100) / 100).toFixed(2);
  const best = (runs) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
  for (const kind of kinds) {
    const one = best(results[1][kind]);
    const many = best(results.auto[kind]);
    const errors = [...results[1][kind], ...results.auto[kind]].reduce((n, r) => n + r.errors, 0);
    console.log(
      `| ${kind} | ${one.rps.toFixed(0)} | ${one.p50.toFixed(2)} / ${one.p99.toFixed(2)} | ${pct(one.busy)} | ${many.rps.toFixed(0)} | ${many.p50.toFixed(2)} / ${many.p99.toFixed(2)} | ${pct(many.busy)} | **${ratio(many.rps / one.rps)}×** | ${errors} |`,
    );
  }
  console.log(
    '\nCPU time per request in the best rounds, µs: the server (primary and workers) and wrk. With every core busy, and one process using one core, auto ÷ 1 can be at most cores × (server with 1) ÷ (server with auto + wrk). Preempted: the times the scheduler took a core from a server process while it could still run (nonvoluntary_ctxt_switches).\n',
  );
  console.log('| request | server, 1 | server, auto | wrk | most auto ÷ 1 the machine allows | server preempted per 1,000 requests, 1 / auto |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const kind of kinds) {
    const one = best(results[1][kind]);
    const many = best(results.auto[kind]);
    const bound = (availableParallelism() * one.serverUs) / (many.serverUs + many.wrkUs);
    console.log(
      `| ${kind} | ${one.serverUs.toFixed(0)} | ${many.serverUs.toFixed(0)} | ${many.wrkUs.toFixed(0)} | ${bound.toFixed(2)}× | ${one.preemptedPer1000.toFixed(0)} / ${many.preemptedPer1000.toFixed(0)} |`,
    );
  }
};
