import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { projectRoot, tempDir } from '@kiroku/testing';
import { ApiClient } from './support/api-client';
import { untilStopped } from './support/load';
import { spawnServer, waitForStatus, type KirokuProcess } from './support/process';

/**
 * WEB_CONCURRENCY: a primary and its workers, run as the real built server on
 * SQLite (the engine where one machine per file matters). Each request opens
 * its own connection, so the primary hands it to a worker as it would a new
 * client's.
 */

const SLOW = ['--require', join(projectRoot(), 'test/fixtures/slow-request.cjs')];
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

interface Outcome {
  startedAt: number;
  status?: number;
  error?: string;
}

/** One request on a fresh connection. */
function get(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/**
 * `loops` clients sending requests one after another until stop() resolves their outcomes. A
 * connection the primary handed to a worker at the moment it was killed stays open in the primary
 * (node:cluster closes its copy only once the worker accepts it), so such a request ends at the
 * client's timeout: probes use a short one, as the kubelet's does.
 */
function load(url: string, loops: number, timeoutMs = 10_000): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  const load = untilStopped(loops, async () => {
    const outcome: Outcome = { startedAt: Date.now() };
    outcomes.push(outcome);
    try {
      outcome.status = (await get(url, {}, timeoutMs)).status;
    } catch (error) {
      outcome.error = (error as Error).message;
    }
  });
  return {
    outcomes,
    async stop() {
      await load.stop();
      return outcomes;
    },
  };
}

/** A connection opened now: send() writes a request; closed resolves with everything read once the server closes it. */
function connectRaw(port: number): Promise<{ send(request: string): Promise<string>; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      const closed = new Promise<string>((done, fail) => {
        socket.on('error', fail);
        socket.on('close', () => done(received));
      });
      resolve({
        closed,
        send(request) {
          socket.write(request);
          return closed;
        },
      });
    });
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', reject);
  });
}

/** The primary's workers, by pid. */
function workerPids(primary: number): number[] {
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

async function scrape(server: KirokuProcess): Promise<string> {
  const res = await get(`${server.url}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` });
  expect(res.status).toBe(200);
  return res.body;
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

async function machine(workers: number, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<KirokuProcess> {
  const server = await spawnServer(
    { WEB_CONCURRENCY: String(workers), DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), METRICS_TOKEN, SHUTDOWN_GRACE_PERIOD: '5s', ...env },
    nodeArgs,
  );
  await waitForStatus(`${server.url}/health/ready`, [200], 60_000);
  return server;
}

describe('WEB_CONCURRENCY: a primary and its workers', () => {
  let server: KirokuProcess | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
  });

  it('is ready only once every worker serves, and /metrics adds up every worker, whichever one is scraped', async () => {
    server = await machine(3);
    // Readiness waited for all three: the first scrape after it already holds three workers.
    expect(sample(await scrape(server), 'kiroku_workers')).toBe(3);
    expect(workerPids(server.child.pid!)).toHaveLength(3);

    for (let i = 0; i < 30; i++) expect((await get(`${server.url}/health/live`)).status).toBe(200);
    // Six scrapes land on different workers; each tells the machine's totals, not one worker's share.
    for (let i = 0; i < 6; i++) {
      const text = await scrape(server);
      expect(sample(text, 'kiroku_http_requests_total{method="GET",route="/health/live",status="200"}')).toBe(30);
      expect(sample(text, 'kiroku_workers')).toBe(3);
      expect(text.split('\n').filter((l) => l.startsWith('kiroku_instance_info{'))).toHaveLength(1);
    }
    const lines = server.output().split('\n');
    for (const slot of [0, 1, 2]) expect(lines.some((l) => l.includes('Kiroku ready on') && l.includes(`"worker":${slot}`))).toBe(true);
  });

  it('replaces a worker killed with SIGKILL, and no request to the others fails; the machine stays ready meanwhile', async () => {
    server = await machine(3);
    const primary = server.child.pid!;
    const before = workerPids(primary);
    expect(before).toHaveLength(3);

    const traffic = load(`${server.url}/health/live`, 3);
    const probes = load(`${server.url}/health/ready`, 1, 2_000);
    await new Promise((r) => setTimeout(r, 500));
    const victim = before[1];
    process.kill(victim, 'SIGKILL');
    await until('the killed worker reaped', () => gone(victim), Boolean);
    const diedAt = Date.now();
    const after = await until(
      'a replacement worker',
      () => workerPids(primary),
      (pids) => pids.length === 3 && !pids.includes(victim),
    );
    await until(
      'three workers serving',
      async () => sample(await scrape(server!), 'kiroku_workers'),
      (n) => n === 3,
    );
    await until(
      'readiness probes after the death',
      () => probes.outcomes.filter((o) => o.startedAt >= diedAt && o.status !== undefined).length,
      (n) => n > 5,
    );
    const readiness = await probes.stop();
    const outcomes = [...(await traffic.stop()), ...readiness];

    const failed = outcomes.filter((o) => o.status !== 200);
    // Only requests the killed worker held when it died may fail: at most one per client.
    expect(failed.length).toBeLessThanOrEqual(4);
    // Readiness held while two of three workers served, and through the replacement's start.
    const probedAfter = readiness.filter((o) => o.startedAt >= diedAt);
    expect(probedAfter.length).toBeGreaterThan(5);
    expect(probedAfter.map((o) => o.status).filter((s) => s !== 200)).toEqual([]);
    // Every request sent after it died was served, by the other workers and then by the replacement too.
    expect(outcomes.filter((o) => o.startedAt >= diedAt && o.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.startedAt >= diedAt).length).toBeGreaterThan(20);
    expect(after.filter((pid) => before.includes(pid))).toHaveLength(2);
    await server.waitFor(/worker 1 \(pid \d+\) was killed by SIGKILL after \d+ s: restarting it in \d+ ms/);
    expect((await get(`${server.url}/health/ready`)).status).toBe(200);
  });

  it('on SIGTERM to the primary, drains every worker: requests in flight on each finish, and it exits 0', async () => {
    server = await machine(3, {}, SLOW);
    const url = server.url;
    const traffic = load(`${url}/health/live`, 3);
    // Six slow requests: round robin gives every worker some.
    const slow = Array.from({ length: 6 }, () => get(`${url}/__test/slow`));
    await until(
      'slow requests on the workers',
      () => (server!.output().match(/slow request started/g) ?? []).length,
      (n) => n === 6,
    );
    // A client that connected before the signal and sends its request just after it: a worker holds a connection
    // with no request yet, which a drain must not cut at once. And one that never sends any (a browser's
    // speculative connection), which must not hold the drain for the whole grace period.
    const early = await connectRaw(server.port);
    const silent = await connectRaw(server.port);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const late = early.send('GET /health/live HTTP/1.1\r\nHost: kiroku\r\n\r\n');
    const outcomes = (await traffic.stop()).filter((o) => o.startedAt < signalledAt);

    expect(await Promise.all(slow)).toEqual(Array.from({ length: 6 }, () => ({ status: 200, body: 'slow done' })));
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    // Answered, and told to go elsewhere for the next one.
    expect(await late).toMatch(/^HTTP\/1\.1 200 OK\r\n(.+\r\n)*connection: close\r\n/i);
    expect(await server.exited).toBe(0);
    expect(await silent.closed).toBe('');
    const output = server.output();
    expect(output).not.toMatch(/requests still running/);
    expect(output.match(/stopped \(drained\)/g)).toHaveLength(3);
    expect(output).toMatch(/"msg":"stopped \(exit code 0\)"/);
  });

  it('refuses a second machine on the same SQLite file until the first is gone', async () => {
    const db = { DATABASE_PATH: join(tempDir(), 'kiroku.sqlite') };
    server = await machine(2, db);
    const second = await spawnServer({ WEB_CONCURRENCY: '2', METRICS_TOKEN, ...db });
    try {
      expect(await waitForStatus(`${second.url}/health/ready`, [503], 60_000)).toBe(503);
      await second.waitFor(/another machine serves .*kiroku\.sqlite: this one stays not ready/, 30_000);
      // Once both of its workers are up, readiness says why it stays down.
      const reason = async () => {
        const res = await get(`${second.url}/health/ready`, { authorization: `Bearer ${METRICS_TOKEN}` });
        return (JSON.parse(res.body) as { error: { instance: { message: string } } }).error.instance.message;
      };
      await until('the reason', reason, (m) => !m.startsWith('starting'));
      expect(await reason()).toMatch(/is using this SQLite database; SQLite allows one machine per database file/);
      expect((await get(`${server.url}/health/ready`)).status).toBe(200);

      // The first machine dies without a chance to clean up (its workers follow their primary): the second takes over.
      server.child.kill('SIGKILL');
      await server.exited;
      expect(await waitForStatus(`${second.url}/health/ready`, [200], 30_000)).toBe(200);
    } finally {
      await second.stop('SIGKILL');
    }
  });

  it('stops at a bad setting before forking the other workers: its name, once, and exit code 78', async () => {
    const bad = await spawnServer({ WEB_CONCURRENCY: '3', DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), HEARTBEAT_INTERVAL: 'often' });
    expect(await bad.exited).toBe(78);
    expect(bad.output().match(/HEARTBEAT_INTERVAL: /g)).toHaveLength(1);
    expect(bad.output()).toMatch(/worker 0 \(pid \d+\) exited with code 78 during start-up: stopping/);
  });

  it('shares one SQLite file between three workers: concurrent writes all commit, log lines stay whole, one history row per period', async () => {
    const logs = tempDir();
    const file = join(tempDir(), 'kiroku.sqlite');
    server = await machine(3, { DATABASE_PATH: file, LOG_DIR: logs, METRICS_SAMPLE_INTERVAL: '1s' });
    const { api } = await ApiClient.forNewUser(server.url, 'writer@example.com');
    // Nine clients, each on a new connection per request, so that the primary spreads them over the workers:
    // every write transaction begins IMMEDIATE and waits (on a timer) for another worker's lock.
    const started = Date.now();
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, async (_, client) => {
        for (let i = 0; i < 20; i++) {
          const res = await fetch(`${server!.url}/api/v1/notes`, {
            method: 'POST',
            headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json', connection: 'close' },
            body: JSON.stringify({ title: `worker write ${client}-${i}`, body: 'x'.repeat(2000), tags: ['load'] }),
          });
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      }),
    );
    expect(statuses).toHaveLength(180);
    expect(statuses.filter((s) => s !== 201)).toEqual([]);

    // Every worker wrote to the same daily files; each line is one whole JSON entry.
    await new Promise((r) => setTimeout(r, 2500));
    const lines = readdirSync(logs)
      .filter((f) => f.endsWith('.log'))
      .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean));
    expect(lines.length).toBeGreaterThan(180);
    const entries = lines.map((l) => JSON.parse(l) as { worker?: number });
    expect(new Set(entries.map((e) => e.worker)).size).toBeGreaterThanOrEqual(3);

    // The history sampler writes the machine's row once per period, not one per worker.
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare("SELECT COUNT(*) FROM notes WHERE title LIKE 'worker write %'").pluck().get()).toBe(180);
      const rows = db
        .prepare('SELECT instance_id AS id, COUNT(*) AS n, COUNT(DISTINCT at) AS periods, SUM(requests) AS requests FROM metric_samples GROUP BY instance_id')
        .all() as Array<{
        id: string;
        n: number;
        periods: number;
        requests: number;
      }>;
      const seconds = (Date.now() - started) / 1000;
      expect(rows).toHaveLength(1);
      expect(rows[0].n).toBe(rows[0].periods);
      expect(rows[0].n).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
      // The machine's row counts the requests of every worker.
      expect(rows[0].requests).toBeGreaterThanOrEqual(180);
    } finally {
      db.close();
    }
  });

  it('runs a scheduled task once per slot with four workers', async () => {
    server = await machine(4, { ALERT_EVAL_INTERVAL: '300ms' });
    await new Promise((r) => setTimeout(r, 4000));
    const runs = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { task?: string; slot?: string; outcome?: string; worker?: number })
      .filter((l) => l.task === 'evaluate-alerts' && l.outcome === 'succeeded');
    expect(runs.length).toBeGreaterThanOrEqual(5);
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
  });
});
