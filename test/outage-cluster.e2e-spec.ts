import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { Client } from 'pg';
import { KirokuCluster, PostgresCluster, startCluster, startPostgres } from '@kiroku/testing';
import { ApiClient } from './support/api-client';
import { postgresMissing } from './support/engines';
import { untilStopped } from './support/load';
import { WebhookReceiver } from './support/receivers';

// PostgreSQL itself stopped (its own throwaway server, so no other suite loses its database) under the
// three-replica harness: three app processes behind nginx, steady API traffic through nginx the whole time.
// KIROKU_OUTAGE_SECONDS sets how long it stays down (30 s here; 60 s is the figure the docs quote).
const nginxMissing = spawnSync('sh', ['-c', 'command -v nginx']).status !== 0;
if (nginxMissing && process.env.CI === 'true') throw new Error('CI=true but nginx is missing (apt-get install nginx)');
const skip = nginxMissing ? 'nginx not installed' : postgresMissing();
if (skip) console.warn(`SKIPPED: PostgreSQL outage under three replicas (${skip})`);

const OUTAGE_MS = Number(process.env.KIROKU_OUTAGE_SECONDS ?? 30) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Traffic {
  /** Responses by phase and status, e.g. outage → { 503: 812 }. */
  statuses: Record<string, Record<number, number>>;
  /** 5xx responses that an app process answered (nginx names the upstream), i.e. ones its samples must count. */
  appErrors: number;
}

/** Four loops of GET /api/v1/notes through nginx, each response filed under the phase current when it was sent. */
function traffic(api: ApiClient, phase: () => string) {
  const seen: Traffic = { statuses: {}, appErrors: 0 };
  const load = untilStopped(4, async () => {
    const now = phase();
    const res = await fetch(`${api.base}/api/v1/notes?limit=5`, { headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' } });
    await res.arrayBuffer();
    const byStatus = (seen.statuses[now] ??= {});
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
    if (res.status >= 500 && res.headers.get('x-kiroku-upstream')) seen.appErrors++;
    if (res.status >= 500) await sleep(20); // a client that backs off a little, as scripts do
  });
  return {
    stop: async () => {
      await load.stop();
      return seen;
    },
  };
}

(skip ? describe.skip : describe)('PostgreSQL stopped under three replicas behind nginx', () => {
  let pg: PostgresCluster;
  let cluster: KirokuCluster;
  let webhook: WebhookReceiver;

  beforeAll(async () => {
    pg = await startPostgres();
    webhook = await WebhookReceiver.start();
    cluster = await startCluster({
      databaseUrl: await pg.createDatabase('kiroku_outage'),
      env: {
        LOG_LEVEL: 'warn',
        ALERT_WEBHOOK_URL: webhook.url,
        ALERT_EVAL_INTERVAL: '1s',
        ALERT_PENDING: '5s',
        ALERT_ERROR_MIN_REQUESTS: '20',
        HEARTBEAT_INTERVAL: '1s',
        INSTANCE_STALE_AFTER: '5s',
        METRICS_SAMPLE_INTERVAL: '5s',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await webhook?.close();
    await pg?.destroy();
  }, 60_000);

  it(
    'each instance says once that the database is gone and once that it is back; the 503s reach the charts and fire the error-rate alert',
    async () => {
      const { api, web } = await ApiClient.forNewUser(cluster.url, 'admin@example.com'); // the first account: an admin
      const events = () => webhook.messages.map((m) => `${m.kiroku.kind} ${m.kiroku.rule} ${m.kiroku.subject}`);
      const addresses = cluster.instances.map((i) => `${hostname()}:${i.port}`); // each notice names its instance
      let phase = 'before';
      const load = traffic(api, () => phase);
      await sleep(6000); // at least one sample of healthy traffic
      expect(events()).toEqual([]);

      const stoppedAt = Date.now();
      phase = 'stopping'; // requests in flight while PostgreSQL shuts down may still be answered
      await pg.stop('fast');
      phase = 'outage';
      // Within the outage: every instance is unready, and says so directly, from memory.
      await webhook.waitForCount(3, 20_000);
      for (const instance of cluster.instances) expect((await fetch(`${instance.url}/health/ready`)).status).toBe(503);
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
      phase = 'starting';
      await pg.start();
      const downFor = Date.now() - stoppedAt;

      for (const instance of cluster.instances) {
        const deadline = Date.now() + 30_000;
        while ((await fetch(`${instance.url}/health/ready`)).status !== 200) {
          if (Date.now() > deadline) throw new Error(`${instance.name} not ready 30 s after PostgreSQL came back`);
          await sleep(250);
        }
      }
      phase = 'after';
      // The database-down notices (3 firing, 3 resolved) and the error-rate alert from the samples written afterwards.
      const deadline = Date.now() + 60_000;
      while (!events().includes('firing error-rate all instances') && Date.now() < deadline) await sleep(500);
      await sleep(5000); // every evaluator and watcher had its chance to send anything twice
      const seen = await load.stop();

      console.log(`responses by phase and status: ${JSON.stringify(seen.statuses)}`);
      const sorted = events().sort();
      expect(sorted).toEqual(
        [
          ...addresses.map((a) => `firing database-down ${a}`),
          ...addresses.map((a) => `resolved database-down ${a}`),
          'firing error-rate all instances',
        ].sort(),
      );
      expect(webhook.messages.find((m) => m.kiroku.rule === 'error-rate')!.kiroku.summary).toMatch(/^\d+\.\d% of \d+ requests failed with a server error/);

      // Every response in the outage was a 503; none before it, none once every instance was ready again.
      const statuses = (p: string) => Object.keys(seen.statuses[p] ?? {}).map(Number);
      expect(statuses('before')).toEqual([200]);
      // 503 (try again), also for requests the shutdown cut off mid-query: none is a 500 to investigate.
      expect(statuses('stopping').filter((s) => s !== 200 && s !== 503)).toEqual([]);
      expect(statuses('outage')).toEqual([503]);
      expect(statuses('after')).toEqual([200]);
      expect(seen.appErrors).toBeGreaterThan(20);

      // The samples kept in memory through the outage were written afterwards: every 5xx an app answered is counted.
      const db = new Client({ connectionString: cluster.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query<{ errors: number }>('SELECT coalesce(sum(errors), 0)::int AS errors FROM metric_samples');
        expect(rows[0].errors).toBeGreaterThanOrEqual(seen.appErrors);
      } finally {
        await db.end();
      }
      // … and the console's error-rate chart shows the outage's minutes.
      const chart = await web.get('/admin/metrics?range=hour');
      expect(chart.status).toBe(200);
      const data = JSON.parse(chart.text) as { t: number[]; charts: { errorRate: Array<{ values: Array<number | null> }> } };
      const worst = Math.max(...data.charts.errorRate[0].values.map((v) => v ?? 0));
      // The outage falls in one minute or two: at least half of it in one, against that minute's other requests,
      // which is about 20% at this load when split evenly (19.95% seen). A chart without the samples kept through
      // the outage shows 0; with one instance's of three, a third of it.
      expect(worst).toBeGreaterThan(10);
      console.log(
        `PostgreSQL down ${(downFor / 1000).toFixed(1)} s: responses ${JSON.stringify(seen.statuses)}; ` +
          `${seen.appErrors} 5xx answered by the apps; worst minute in /admin's error-rate chart ${worst}%; notices: ${events().join(', ')}`,
      );
    },
    120_000 + OUTAGE_MS,
  );
});
