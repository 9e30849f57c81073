import { hostname } from 'node:os';
import { freePort } from '@kiroku/testing';
import { freshDatabase, postgresMissing } from './support/engines';
import { KirokuProcess, spawnServer, waitForStatus } from './support/process';
import { WebhookReceiver } from './support/receivers';

const withPostgres = postgresMissing() ? describe.skip : describe;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Three real processes on one PostgreSQL, each evaluating alerts every 300 ms: every event is
 * notified once, a kill -9 fires instance-down for that instance, its restart on the same
 * address resolves it, and a graceful stop fires nothing.
 */
withPostgres('alerts across three instances on one PostgreSQL', () => {
  let webhook: WebhookReceiver;
  const servers: KirokuProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    webhook = await WebhookReceiver.start();
    env = {
      ...(await freshDatabase('postgres')),
      LOG_LEVEL: 'warn',
      ALERT_WEBHOOK_URL: webhook.url,
      HEARTBEAT_INTERVAL: '200ms',
      INSTANCE_STALE_AFTER: '1s',
      ALERT_EVAL_INTERVAL: '300ms',
      ALERT_PENDING: '1s',
      ALERT_RECOVERY: '1s',
      METRICS_SAMPLE_INTERVAL: '1s',
    };
    const ports = [await freePort(), await freePort(), await freePort()];
    servers.push(...(await Promise.all(ports.map((port) => spawnServer({ ...env, PORT: String(port) })))));
    await Promise.all(servers.map((s) => waitForStatus(`${s.url}/health/ready`, [200])));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await webhook.close();
  });

  const events = () => webhook.messages.map((m) => `${m.kiroku.kind} ${m.kiroku.rule} ${m.kiroku.subject}`);

  it('kill -9 fires instance-down once; the restart on the same address resolves it once; a graceful stop fires nothing', async () => {
    const victim = servers[1];
    const address = `${hostname()}:${victim.port}`;
    await sleep(1500);
    expect(events()).toEqual([]); // all healthy

    await victim.stop('SIGKILL');
    await webhook.waitForCount(1, 20_000);
    await sleep(2000); // two more evaluators had every chance to send it again
    expect(events()).toEqual([`firing instance-down ${address}`]);
    expect(webhook.messages[0].text).toContain('did not stop gracefully');

    servers[1] = await spawnServer({ ...env, PORT: String(victim.port) });
    await waitForStatus(`${servers[1].url}/health/ready`, [200]);
    await webhook.waitForCount(2, 20_000);
    await sleep(2000);
    expect(events()).toEqual([`firing instance-down ${address}`, `resolved instance-down ${address}`]);

    expect(await servers[2].stop('SIGTERM')).toBe(0);
    await sleep(4000); // longer than stale + pending + an evaluation
    expect(events()).toHaveLength(2);
  });
});
