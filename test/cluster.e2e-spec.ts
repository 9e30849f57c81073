import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { KirokuCluster, startCluster } from '@kiroku/testing';
import { ApiClient } from './support/api-client';
import { ageKeyPair } from './support/backup-keys';
import { freshDatabase, postgresMissing } from './support/engines';
import { untilStopped } from './support/load';
import { recordLogLines } from './support/log-scan';
import { WebClient } from './support/web-client';

// The reference topology for real: three app processes on one PostgreSQL behind nginx (libs/testing's
// cluster harness, the one `npm run cluster` starts), every request through nginx.
const nginxMissing = spawnSync('sh', ['-c', 'command -v nginx']).status !== 0;
if (nginxMissing && process.env.CI === 'true') throw new Error('CI=true but nginx is missing (apt-get install nginx)');
const skip = nginxMissing ? 'nginx not installed' : postgresMissing();
if (skip) console.warn(`SKIPPED: three-replica topology tests (${skip})`);

const PASSWORD = 'a long enough passphrase';
const upstreamOf = (headers: Headers) => headers.get('x-kiroku-upstream') ?? '';

interface LoadResult {
  requests: number;
  failures: string[];
  /** Notes the API confirmed with 201, and when. */
  committed: Array<{ id: string; at: number }>;
  /** Requests that failed, with the time they were sent. */
  failedAt: number[];
}

/**
 * Steady load through nginx from `clients` loops, each alternating a create
 * and a read of the notes API, until stop() is called. Every request is on a
 * new connection: a reload makes nginx close idle client connections, and a
 * request racing that close fails in Node's fetch where a browser would send
 * it again; the server side, which these tests are about, is the same.
 */
function steadyLoad(api: ApiClient, clients = 6): { stop: () => Promise<LoadResult> } {
  const result: LoadResult = { requests: 0, failures: [], committed: [], failedAt: [] };
  const headers = { authorization: `Bearer ${api.token}`, accept: 'application/json', 'content-type': 'application/json', connection: 'close' };
  const load = untilStopped(clients, async (n, i) => {
    const sent = Date.now();
    try {
      if (i % 2 === 0) {
        const res = await fetch(`${api.base}/api/v1/notes`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ title: `load ${n}-${i}`, body: 'steady load' }),
        });
        const body = await res.text();
        if (res.status !== 201) throw new Error(`POST ${res.status} ${body}`);
        result.committed.push({ id: (JSON.parse(body) as { id: string }).id, at: Date.now() });
      } else {
        const res = await fetch(`${api.base}/api/v1/notes?limit=5`, { headers });
        const body = await res.text();
        if (res.status !== 200) throw new Error(`GET ${res.status} ${body}`);
      }
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      result.failures.push(`${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`);
      result.failedAt.push(sent);
    }
    result.requests++;
  });
  return {
    stop: async () => {
      await load.stop();
      return result;
    },
  };
}

(skip ? describe.skip : describe)('three instances behind nginx on one PostgreSQL', () => {
  let cluster: KirokuCluster;
  let databaseUrl: string;
  let api: ApiClient;

  beforeAll(async () => {
    databaseUrl = (await freshDatabase('postgres')).DATABASE_URL;
    const { recipient } = await ageKeyPair();
    cluster = await startCluster({
      databaseUrl,
      // A backup every minute: the scheduled task every replica ticks, exactly one runs.
      env: { BACKUP_SCHEDULE: '* * * * *', BACKUP_AGE_RECIPIENTS: recipient, LOG_LEVEL: 'info' },
    });
    ({ api } = await ApiClient.forNewUser(cluster.url, 'load@example.com'));
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    for (const instance of cluster?.instances ?? [])
      recordLogLines(
        instance
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .join('\n'),
      );
  }, 60_000);

  it('serves one session from every instance, and a logout on one ends it on all', async () => {
    const web = new WebClient(cluster.url);
    expect((await web.signup('session@example.com', PASSWORD)).status).toBe(303);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const page = await web.get('/account');
      expect(page.status).toBe(200);
      expect(page.text).toContain('session@example.com');
      seen.add(upstreamOf(page.headers));
    }
    expect(seen).toEqual(new Set(cluster.instances.map((i) => `127.0.0.1:${i.port}`)));

    const stolen = new WebClient(cluster.url);
    for (const [k, v] of web.cookies) stolen.cookies.set(k, v);
    expect((await web.logout()).status).toBe(303);
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const page = await stolen.get('/account');
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toMatch(/\/login/);
      after.add(upstreamOf(page.headers));
    }
    expect(after.size).toBe(3);
  });

  it('counts failed logins across instances: the sixth wrong password is throttled whichever instance gets it', async () => {
    const web = new WebClient(cluster.url);
    await web.signup('throttled@example.com', PASSWORD);
    await web.logout();
    const served = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const guess = await new WebClient(cluster.url).login('throttled@example.com', `wrong guess ${i}`);
      expect(guess.status).toBe(401);
      served.add(upstreamOf(guess.headers));
    }
    expect(served.size).toBe(3);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const refused = await new WebClient(cluster.url).login('throttled@example.com', PASSWORD);
      statuses.push(refused.status);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(statuses).toEqual([429, 429, 429]);
  });

  it('restarts every instance in turn under steady load with zero failed requests', async () => {
    const pids = cluster.instances.map((i) => i.pid);
    const load = steadyLoad(api);
    await new Promise((r) => setTimeout(r, 500));
    await cluster.rollingRestart();
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();

    expect(result.failures).toEqual([]);
    expect(result.requests).toBeGreaterThan(100);
    cluster.instances.forEach((instance, k) => expect(instance.pid).not.toBe(pids[k]));
    for (const instance of cluster.instances) expect(instance.output()).toMatch(/stopped \(drained\)/);
    // Every write that was confirmed is there.
    const sample = result.committed.filter((_, i) => i % 10 === 0);
    for (const { id } of sample) expect((await api.call('GET', `/api/v1/notes/${id}`)).status).toBe(200);
  }, 120_000);

  it('kill -9 of one instance under load loses no confirmed write, and the others keep serving', async () => {
    const load = steadyLoad(api);
    await new Promise((r) => setTimeout(r, 1000));
    const killedAt = Date.now();
    expect(await cluster.stopInstance(1, 'SIGKILL')).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    const result = await load.stop();

    // Only requests already on their way to the killed process may fail (a write nginx must not resend);
    // half a second covers nginx noticing its idle connections to that process were closed.
    expect(result.failedAt.filter((sent) => sent > killedAt + 500)).toEqual([]);
    expect(result.committed.filter((c) => c.at > killedAt + 500).length).toBeGreaterThan(20);
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const ids = result.committed.map((c) => c.id);
      const { rows } = await db.query('SELECT count(*)::int AS n FROM notes WHERE id = ANY($1)', [ids]);
      expect(rows[0].n).toBe(ids.length);
    } finally {
      await db.end();
    }
    // Back in the rotation once nginx's fail_timeout has passed.
    await cluster.startInstance(1);
    const back = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (back.size < 3 && Date.now() < deadline) {
      const me = await api.call('GET', '/api/v1/me');
      expect(me.status).toBe(200);
      back.add(upstreamOf(me.headers));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(back.size).toBe(3);
  }, 60_000);

  it('runs the scheduled backup once per slot although all three instances tick it', async () => {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const slots = async () =>
        (
          await db.query(
            `SELECT slot, count(*)::int AS runs, string_agg(status, ',') AS statuses FROM backup_runs WHERE trigger = 'schedule' AND status = 'succeeded' GROUP BY slot ORDER BY slot`,
          )
        ).rows as Array<{ slot: string; runs: number }>;
      // At most a minute's wait (the suite has run for a while already): one slot is enough to show it.
      const deadline = Date.now() + 90_000;
      while ((await slots()).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
      const done = await slots();
      expect(done.length).toBeGreaterThanOrEqual(1);
      for (const slot of done) expect(slot.runs).toBe(1);
      // Each slot was claimed once, by one instance, and never taken over.
      const { rows: leases } = await db.query(`SELECT slot, holder, attempts FROM task_leases WHERE task_id = 'backup' AND slot = ANY($1)`, [
        done.map((d) => d.slot),
      ]);
      expect(leases).toHaveLength(done.length);
      for (const lease of leases) expect(lease.attempts).toBe(1);
    } finally {
      await db.end();
    }
    // The instances' own words: each slot's success is logged by exactly one of them.
    const successes = cluster.instances
      .flatMap((i) => i.output().split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { task?: string; slot?: string; outcome?: string })
      .filter((l) => l.task === 'backup' && l.outcome === 'succeeded');
    const perSlot = new Map<string, number>();
    for (const s of successes) perSlot.set(s.slot!, (perSlot.get(s.slot!) ?? 0) + 1);
    expect(perSlot.size).toBeGreaterThanOrEqual(1);
    expect([...perSlot.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});
