import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@kiroku/testing';
import { freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';
const line = (o: Record<string, unknown>) => `${JSON.stringify({ level: 'info', instance: 'other-process', ...o })}\n`;

describe('the logs viewer', () => {
  let t: TestApp;
  let admin: WebClient;
  let logDir: string;

  beforeAll(async () => {
    logDir = tempDir();
    mkdirSync(logDir, { recursive: true });
    // Lines another process wrote earlier today, in the files the viewer reads.
    const day = new Date().toISOString().slice(0, 10);
    writeFileSync(
      join(logDir, `access-${day}.log`),
      [
        line({
          time: `${day}T00:00:01.000Z`,
          stream: 'access',
          reqId: 'req-followed-1',
          method: 'POST',
          path: '/notes',
          status: 500,
          durationMs: 12,
          userId: '11111111-1111-4111-8111-111111111111',
        }),
        line({ time: `${day}T00:00:02.000Z`, stream: 'access', reqId: 'req-other-0002', method: 'GET', path: '/notes', status: 200, durationMs: 3 }),
      ].join(''),
    );
    writeFileSync(
      join(logDir, `app-${day}.log`),
      [
        line({ time: `${day}T00:00:01.500Z`, stream: 'error', level: 'error', reqId: 'req-followed-1', msg: 'insert failed <script>alert(1)</script>' }),
        line({ time: `${day}T00:00:03.000Z`, stream: 'app', msg: 'unrelated' }),
      ].join(''),
    );
    t = await startTestApp({ ...(await freshDatabase('sqlite')), LOG_DIR: logDir });
    admin = new WebClient(t.url);
    await admin.signup('admin@example.com', PASSWORD, 'Admin');
  });
  afterAll(() => t?.close());

  it('follows one request id across the access and error streams, escaping what the lines say', async () => {
    const page = await admin.get('/admin/logs?reqId=req-followed-1');
    expect(page.status).toBe(200);
    const rows = page.text.match(/<tr><td class="nowrap small">/g) ?? [];
    expect(rows).toHaveLength(2);
    expect(page.text).toContain('POST /notes → 500 (12 ms)');
    expect(page.text).toContain('insert failed &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('req-other-0002');
  });

  it('filters by stream, level and status', async () => {
    expect((await admin.get('/admin/logs?stream=access&status=200')).text).toContain('GET /notes → 200');
    const errors = await admin.get('/admin/logs?level=error');
    expect(errors.text).toContain('insert failed');
    expect(errors.text).not.toContain('unrelated');
    expect((await admin.get('/admin/logs?stream=access&level=warn')).text).toContain('No entries match.');
  });

  it('is for admins only, and says where logs are when there are no files', async () => {
    const user = new WebClient(t.url);
    await user.signup('user@example.com', PASSWORD, 'User');
    expect((await user.get('/admin/logs')).status).toBe(403);
    const bare = await startTestApp(await freshDatabase('sqlite'));
    try {
      const someone = new WebClient(bare.url);
      await someone.signup('first@example.com', PASSWORD, 'First');
      expect((await someone.get('/admin/logs')).text).toContain('writes its logs to stdout only (LOG_DIR is not set)');
    } finally {
      await bare.close();
    }
  });
});
