import { postgresMigrations } from '../migrations/postgres';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot, tempDir } from '@kiroku/testing';
import { freshDatabase, postgresMissing } from './support/engines';
import { runCli, spawnServer, waitForStatus } from './support/process';

const withPostgres = postgresMissing() ? describe.skip : describe;
const MIGRATION_COUNT = postgresMigrations.length;

async function pgQuery<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('start-up refuses bad settings with one message naming the setting', () => {
  const start = async (env: Record<string, string>) => {
    const server = await spawnServer({ DATABASE_PATH: join(tempDir(), 'k.sqlite'), ...env });
    const code = await server.exited;
    return { code, output: server.output() };
  };

  it.each([
    [{ PORT: 'abc' }, 'PORT', /PORT: must be an integer between 1 and 65535 \(got "abc"\)/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ DATABASE_PATH: '/etc/passwd/kiroku/kiroku.sqlite' }, 'DATABASE_PATH', /DATABASE_PATH: cannot create the folder \/etc\/passwd\/kiroku: ENOTDIR/],
  ])('%j', async (env, setting, message) => {
    const { code, output } = await start(env);
    expect(code).not.toBe(0);
    expect(output).toMatch(message);
    expect(output.trim().split('\n')).toHaveLength(2); // the heading and the one setting
    expect(output).toContain(setting);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses production with the error-level findings of `kiroku check`', async () => {
    const { code, output } = await start({ NODE_ENV: 'production', SESSION_SECRET: 'development-only-insecure-session-secret' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/production start-up refused/);
    expect(output).toMatch(/session-secret-insecure/);
    expect(output).toMatch(/backup-encryption-missing/);
    expect(output).toMatch(/public-url-plain-http/);
  });
});

describe('a SQLite instance', () => {
  it('creates its database folder, becomes ready, and on SIGTERM lets an in-flight request finish and exits 0', async () => {
    const dir = join(tempDir(), 'nested', 'data');
    const server = await spawnServer({ DATABASE_PATH: join(dir, 'kiroku.sqlite') }, ['--require', join(projectRoot(), 'test/fixtures/slow-request.cjs')]);
    try {
      expect(await waitForStatus(`${server.url}/health/ready`, [200])).toBe(200);
      expect(existsSync(join(dir, 'kiroku.sqlite'))).toBe(true);

      const slow = fetch(`${server.url}/__test/slow`).then(async (r) => ({ status: r.status, body: await r.text() }));
      await server.waitFor(/slow request started/);
      server.child.kill('SIGTERM');
      // Readiness fails at once while the slow request is still running.
      await server.waitFor(/SIGTERM received: draining/);
      expect(await slow).toEqual({ status: 200, body: 'slow done' });
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/stopped \(drained\)/);
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it('refuses readiness when another live instance already uses the same database file, and says why', async () => {
    const db = { DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), METRICS_TOKEN: 'metrics-token-for-tests-0123456789' };
    const first = await spawnServer(db);
    try {
      expect(await waitForStatus(`${first.url}/health/ready`, [200])).toBe(200);
      const second = await spawnServer(db);
      try {
        expect(await waitForStatus(`${second.url}/health/ready`, [503])).toBe(503);
        const res = await fetch(`${second.url}/health/ready`, { headers: { authorization: `Bearer ${db.METRICS_TOKEN}` } });
        const body = (await res.json()) as { error: { instance: { message: string } } };
        expect(body.error.instance.message).toMatch(new RegExp(`another instance \\(.+, pid ${first.child.pid} on .+\\) is using this SQLite database`));
        // The incumbent keeps serving.
        expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
      } finally {
        await second.stop();
      }
      // Once the first is gone, even killed without a chance to clean up, a new instance is ready at once.
      await first.stop('SIGKILL');
      const third = await spawnServer(db);
      try {
        expect(await waitForStatus(`${third.url}/health/ready`, [200])).toBe(200);
      } finally {
        await third.stop();
      }
    } finally {
      await first.stop('SIGKILL');
    }
  });
});

describe('direct TLS (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  it('serves HTTPS with HSTS and Secure cookies on a machine without a proxy', async () => {
    const dir = tempDir();
    const { execFileSync } = await import('node:child_process');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = await spawnServer({
      DATABASE_PATH: join(dir, 'kiroku.sqlite'),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      PUBLIC_URL: 'https://localhost',
    });
    try {
      await server.waitFor(/Kiroku ready/);
      const { request } = await import('node:https');
      const res = await new Promise<{ status?: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        request(`https://127.0.0.1:${server.port}/login`, { rejectUnauthorized: false }, (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (chunk: string) => (body += chunk));
          r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body }));
        })
          .on('error', reject)
          .end();
      });
      expect(res.status).toBe(200);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(String(res.headers['set-cookie'])).toMatch(/^__Host-kiroku-csrf=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax/);
      // The page whole, through the TLS socket's coalesced writes (src/coalesced-writes.ts).
      expect(res.body).toMatch(/<form[^>]+action="\/login"/);
      expect(res.body.trimEnd()).toMatch(/<\/html>$/);
    } finally {
      await server.stop();
    }
  });
});

withPostgres('three instances starting together on one empty PostgreSQL database', () => {
  it('migrate exactly once, all become ready, and record graceful stops', async () => {
    const { DATABASE_URL } = await freshDatabase('postgres');
    const servers = await Promise.all([1, 2, 3].map(() => spawnServer({ DATABASE_URL })));
    try {
      for (const s of servers) expect(await waitForStatus(`${s.url}/health/ready`, [200], 30_000)).toBe(200);
      const appliers = servers.filter((s) => /applied \d+ migration/.test(s.output()));
      expect(appliers).toHaveLength(1);
      const rows = await pgQuery<{ name: string }>(DATABASE_URL, 'SELECT name FROM schema_migrations');
      expect(rows).toHaveLength(MIGRATION_COUNT);
      const live = await pgQuery<{ n: string }>(DATABASE_URL, 'SELECT count(*) AS n FROM instances WHERE stopped_at IS NULL');
      expect(Number(live[0].n)).toBe(3);
    } finally {
      expect(await Promise.all(servers.map((s) => s.stop('SIGTERM')))).toEqual([0, 0, 0]);
    }
    const stopped = await pgQuery<{ n: string }>(DATABASE_URL, 'SELECT count(*) AS n FROM instances WHERE stopped_at IS NOT NULL');
    expect(Number(stopped[0].n)).toBe(3);
  });
});

withPostgres('lease races between processes on PostgreSQL', () => {
  const children: Array<ReturnType<typeof spawn>> = [];
  afterEach(() => children.splice(0).forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
  const racer = (url: string, holder: string, slots: number, holdMs: number, env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [join(projectRoot(), 'test/fixtures/lease-racer.cjs'), url, holder, String(slots), String(holdMs)], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const line = (n: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const lines = out.split('\n');
          if (lines.length > n + 1) resolve(lines[n]);
        };
        check();
        child.stdout.on('data', check);
        child.on('exit', (code) => (out.split('\n').length > n + 1 ? check() : reject(new Error(`racer exited ${code}: ${err}`))));
      });
    const ready = line(0).then((l) => expect(l).toBe('ready'));
    const result = line(1).then((l) => JSON.parse(l) as Array<{ slot: string; attempt: number }>);
    return { child, ready, result, go: () => child.stdin.end('go\n') };
  };

  it('gives every slot to exactly one of three processes', async () => {
    const { DATABASE_URL } = await freshDatabase('postgres');
    expect((await runCli(['migrate', 'run'], { DATABASE_URL })).code).toBe(0);
    const racers = ['a', 'b', 'c'].map((h) => racer(DATABASE_URL, h, 60, 60_000));
    await Promise.all(racers.map((r) => r.ready));
    racers.forEach((r) => r.go());
    const won = await Promise.all(racers.map((r) => r.result));
    const slots = won.flat().map((w) => w.slot);
    expect(slots).toHaveLength(60);
    expect(new Set(slots).size).toBe(60);
    const holders = await pgQuery<{ holder: string; n: string }>(
      DATABASE_URL,
      "SELECT holder, count(*) AS n FROM task_leases WHERE task_id = 'race' GROUP BY holder",
    );
    expect(holders.reduce((sum, h) => sum + Number(h.n), 0)).toBe(60);
  });

  it('lets another process take over the slots of a holder killed without releasing, once its lease expires', async () => {
    const { DATABASE_URL } = await freshDatabase('postgres');
    expect((await runCli(['migrate', 'run'], { DATABASE_URL })).code).toBe(0);
    // Everyone connects first, so process start-up time cannot eat into the lease.
    const doomed = racer(DATABASE_URL, 'doomed', 3, 3000, { HANG_AFTER_CLAIM: '1' });
    const early = racer(DATABASE_URL, 'early', 3, 60_000);
    const heir = racer(DATABASE_URL, 'heir', 3, 60_000);
    await Promise.all([doomed.ready, early.ready, heir.ready]);
    const goAt = Date.now(); // the leases expire no earlier than goAt + 3 s …
    doomed.go();
    expect(await doomed.result).toHaveLength(3);
    const claimedBy = Date.now(); // … and no later than claimedBy + 3 s
    doomed.child.kill('SIGKILL');

    early.go();
    expect(await early.result).toEqual([]); // the dead holder's lease has not expired yet
    expect(Date.now() - goAt).toBeLessThan(3000); // (otherwise the line above proved nothing)

    await new Promise((r) => setTimeout(r, claimedBy + 3500 - Date.now()));
    heir.go();
    expect(await heir.result).toEqual([0, 1, 2].map((i) => ({ slot: `slot-${i}`, attempt: 2 })));
  });
});
