import { Migrator } from '@kiroku/persistence';
import { Lifecycle } from '../src/modules/cluster';
import { startPostgres, PostgresCluster } from '@kiroku/testing';
import { describeEachEngine, freshDatabase, postgresMissing } from './support/engines';
import { runCli, waitForStatus } from './support/process';
import { startTestApp, TestApp } from './support/test-app';

const TOKEN = 'metrics-token-for-tests-0123456789';

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describeEachEngine('health probes', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...(await freshDatabase(engine)), METRICS_TOKEN: TOKEN });
  });
  afterAll(() => t.close());

  it.each(['live', 'ready', 'startup'])('/health/%s is 200 with a terminus body and is never cached', async (probe) => {
    const res = await get(`${t.url}/health/${probe}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', info: expect.any(Object), error: {}, details: expect.any(Object) });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('tells anonymous callers only up or down per check', async () => {
    const res = await get(`${t.url}/health/ready`);
    expect(res.body.details).toEqual({
      instance: { status: 'up' },
      database: { status: 'up' },
      schema: { status: 'up' },
      disk: { status: 'up' },
    });
    const wrong = await get(`${t.url}/health/ready`, { authorization: 'Bearer not-the-token-at-all-000' });
    expect(JSON.stringify(wrong.body)).not.toMatch(/engine|responseTimeMs|id/);
  });

  it('shows details to a caller with the metrics token', async () => {
    const res = await get(`${t.url}/health/ready`, { authorization: `Bearer ${TOKEN}` });
    expect(res.body.details.database).toMatchObject({ status: 'up', engine, responseTimeMs: expect.any(Number) });
    expect(res.body.details.instance).toMatchObject({ status: 'up', id: expect.stringMatching(/^test-/) });
    if (engine === 'sqlite') expect(Object.keys(res.body.details.disk).length).toBeGreaterThan(1);
  });

  it('keeps a caller-supplied request id that is safe, and replaces one that is not', async () => {
    const kept = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'lb-1234abcd' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-1234abcd');
    expect(await t.logs.waitFor((l) => l.reqId === 'lb-1234abcd' && l.stream === 'access')).toEqual(
      expect.objectContaining({
        stream: 'access',
        reqId: 'lb-1234abcd',
        method: 'GET',
        route: '/health/live',
        path: '/health/live',
        status: 200,
        ip: '127.0.0.1',
        durationMs: expect.any(Number),
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      }),
    );
    const replaced = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns ready 503 as soon as the instance drains, while live stays 200', async () => {
    const other = await startTestApp(await freshDatabase(engine));
    other.app.get(Lifecycle).beginDrain();
    expect((await get(`${other.url}/health/ready`)).status).toBe(503);
    expect((await get(`${other.url}/health/live`)).status).toBe(200);
    await other.close();
  });
});

// On PostgreSQL the database's disk belongs to the server; the instance watches its own data folder on SQLite.
describe('disk', () => {
  it('goes not-ready when the disk is past ALERT_DISK_CRIT', async () => {
    const full = await startTestApp({ ...(await freshDatabase('sqlite')), ALERT_DISK_WARN: '0', ALERT_DISK_CRIT: '0.001', METRICS_TOKEN: TOKEN });
    try {
      const res = await get(`${full.url}/health/ready`, { authorization: `Bearer ${TOKEN}` });
      expect(res.status).toBe(503);
      expect(res.body.error.disk.message).toMatch(/% full \(critical at 0.1%\)/);
      expect((await get(`${full.url}/health/live`)).status).toBe(200);
    } finally {
      await full.close();
    }
  });
});

describeEachEngine('MIGRATIONS=off', (engine) => {
  it('stays not-ready until `kiroku migrate run`, then becomes ready without a restart', async () => {
    const db = await freshDatabase(engine);
    const t = await startTestApp({ ...db, MIGRATIONS: 'off', METRICS_TOKEN: TOKEN });
    try {
      const before = await get(`${t.url}/health/ready`, { authorization: `Bearer ${TOKEN}` });
      expect(before.status).toBe(503);
      expect(before.body.error.schema).toMatchObject({ status: 'down', message: expect.stringMatching(/kiroku migrate run/) });
      expect((await get(`${t.url}/health/startup`)).status).toBe(200);

      const cli = await runCli(['migrate', 'run'], db);
      expect(cli).toMatchObject({ code: 0, stdout: expect.stringMatching(/^applied CreateFoundationTables\d+/m) });
      expect(await waitForStatus(`${t.url}/health/ready`, [200], 15_000)).toBe(200);
      expect(await t.app.get(Migrator).pending()).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

(postgresMissing() ? describe.skip : describe)('a PostgreSQL outage under a running instance', () => {
  let cluster: PostgresCluster;
  let t: TestApp;
  beforeAll(async () => {
    cluster = await startPostgres();
    t = await startTestApp({ DATABASE_URL: cluster.url(), DATABASE_PING_TIMEOUT: '1s', METRICS_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it('fails readiness within seconds, keeps liveness, and recovers without a restart', async () => {
    expect((await get(`${t.url}/health/ready`)).status).toBe(200);
    await cluster.stop('fast');
    const stoppedAt = Date.now();
    expect(await waitForStatus(`${t.url}/health/ready`, [503], 10_000)).toBe(503);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect((await get(`${t.url}/health/live`)).status).toBe(200);
    const down = await get(`${t.url}/health/ready`);
    expect(down.body.error.database).toEqual({ status: 'down' });

    await cluster.start();
    const recovered = await waitForStatus(`${t.url}/health/ready`, [200], 20_000).catch(async (e) => {
      throw new Error(`${e.message}: ${JSON.stringify((await get(`${t.url}/health/ready`, { authorization: `Bearer ${TOKEN}` })).body)}`);
    });
    expect(recovered).toBe(200);
  });
});
