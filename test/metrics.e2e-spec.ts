import { addressMatcher } from '../src/modules/metrics';
import { ApiClient } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const TOKEN = 'metrics-token-for-tests-0123456789';

describeEachEngine('/metrics', (engine) => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ ...(await freshDatabase(engine)), METRICS_TOKEN: TOKEN })));
  afterAll(() => t?.close());
  const scrape = (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => fetch(`${t.url}/metrics`, { headers });

  it('is refused without the token (problem+json), and served in the Prometheus text format with it', async () => {
    const anonymous = await scrape({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await scrape({ authorization: 'Bearer wrong-token-of-the-same-length-123' })).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await ok.text();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds_bucket',
      'kiroku_backup_failures',
      'kiroku_backup_last_run_failed',
      'kiroku_log_sweeper_emergency',
    ]) {
      expect(text).toMatch(new RegExp(`^${name}`, 'm'));
    }
    expect(text).toMatch(new RegExp(`^kiroku_instance_info\\{version="[^"]+",engine="${engine}",instance="test-[0-9a-f]+"\\} 1$`, 'm'));
    if (engine === 'sqlite') expect(text).toMatch(/^kiroku_disk_used_ratio\{volume="data"\} 0\.\d+$/m);
    // No backup yet: the last-success series is absent (a 0 would read as a backup 56 years old), the failure count is 0.
    expect(text).not.toMatch(/^kiroku_backup_last_success_timestamp_seconds/m);
    expect(text).toMatch(/^kiroku_backup_failures\{destination="local"\} 0$/m);
  });

  it('counts requests by route pattern, never by raw path or id', async () => {
    const { api } = await ApiClient.forNewUser(t.url, `m-${engine}@example.com`);
    const note = (await api.call('POST', '/api/v1/notes', { title: 'counted', body: 'x' })).body as { id: string };
    for (let i = 0; i < 3; i++) await api.call('GET', `/api/v1/notes/${note.id}`);
    await (await fetch(`${t.url}/no/such/page/12345`)).text();
    // A request is counted when its response has closed, which may come just after the client has it.
    let text = '';
    for (let i = 0; i < 40 && !/route="unmatched",status="404"/.test(text); i++) {
      text = await (await scrape()).text();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toMatch(/^kiroku_http_requests_total\{method="GET",route="\/api\/v1\/notes\/:id",status="200"\} 3$/m);
    expect(text).toMatch(/^kiroku_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+$/m);
    expect(text).toMatch(/^kiroku_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/api\/v1\/notes\/:id"\} \d+$/m);
    expect(text).not.toContain(note.id);
    expect(text).not.toContain('12345');
  });
});

describe('METRICS_ALLOW', () => {
  it('matches addresses and CIDRs of both families, IPv4-mapped addresses included', () => {
    const allowed = addressMatcher(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
    expect(['10.1.2.3', '127.0.0.1', '::ffff:127.0.0.1', '::ffff:10.9.9.9', 'fd12::1'].map(allowed)).toEqual([true, true, true, true, true]);
    expect(['11.0.0.1', '127.0.0.2', '::1', 'fe80::1', ''].map(allowed)).toEqual([false, false, false, false, false]);
    expect(addressMatcher([])('127.0.0.1')).toBe(false);
  });

  it('lets a listed address scrape without the token', async () => {
    const t = await startTestApp({ ...(await freshDatabase('sqlite')), METRICS_ALLOW: '127.0.0.1/32' });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
