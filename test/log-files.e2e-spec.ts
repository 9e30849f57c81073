import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@kiroku/testing';
import { spawnServer, waitForStatus } from './support/process';

const read = (dir: string, stream: string) => {
  const name = readdirSync(dir).find((n) => n.startsWith(`${stream}-`))!;
  expect(name).toMatch(new RegExp(`^${stream}-\\d{4}-\\d{2}-\\d{2}\\.log$`));
  return readFileSync(join(dir, name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('a server with LOG_DIR', () => {
  it('writes the access and application streams to daily files as well as stdout, every line of a burst, flushed at shutdown', async () => {
    const logDir = tempDir();
    const server = await spawnServer({ DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), LOG_DIR: logDir, LOG_LEVEL: 'info' });
    try {
      expect(await waitForStatus(`${server.url}/health/ready`, [200])).toBe(200);
      await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          fetch(`${server.url}/login?i=${i}`, { headers: { 'user-agent': 'burst-test', 'x-request-id': `burst-${String(i).padStart(4, '0')}` } }).then((r) =>
            r.text(),
          ),
        ),
      );
      const missing = await fetch(`${server.url}/no/such/page`, { headers: { 'x-request-id': 'missing-page-1' } });
      expect(missing.status).toBe(404);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const access = read(logDir, 'access');
    const burst = access.filter((l) => String(l.reqId).startsWith('burst-'));
    expect(new Set(burst.map((l) => l.reqId)).size).toBe(300);
    expect(burst[0]).toMatchObject({
      stream: 'access',
      level: 'info',
      method: 'GET',
      route: '/login',
      path: '/login',
      status: 200,
      userId: null,
      ip: '127.0.0.1',
      userAgent: 'burst-test',
      bytes: expect.any(Number),
      durationMs: expect.any(Number),
      instance: expect.any(String),
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.+Z$/),
    });
    expect(access.find((l) => l.reqId === 'missing-page-1')).toMatchObject({ status: 404, path: '/no/such/page' });
    // At least the successful readiness poll (earlier polls may have met a closed port).
    expect(access.filter((l) => l.path === '/health/ready').length).toBeGreaterThanOrEqual(1);
    const app = read(logDir, 'app');
    expect(app.every((l) => l.stream !== 'access')).toBe(true);
    expect(app.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^Kiroku ready on /), expect.stringMatching(/^stopped \(drained\)/)]));
    // stdout carried the same lines.
    expect(server.output()).toContain('"reqId":"missing-page-1"');
  });
});
