import { postgresMigrations } from '../migrations/postgres';
import { sqliteMigrations } from '../migrations/sqlite';
import { AuditTrail } from '../src/modules/audit';
import { describeEachEngine, freshDatabase } from './support/engines';
import { runCli } from './support/process';
import { startTestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PRODUCTION_READY = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'q3J9v-Zk2L8xW0pT7mR4nY6bC1dF5hG_',
  PUBLIC_URL: 'https://notes.example.com',
  TRUST_PROXY: '127.0.0.1',
  BACKUP_AGE_RECIPIENTS: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
  BACKUP_AGE_IDENTITY_FILE: '/run/secrets/identity',
  METRICS_TOKEN: 'metrics-token-0123456789abcdef',
  ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
};

describe('kiroku check', () => {
  it('lists findings with stable ids and exits 1 while an error stands', async () => {
    const { code, stdout, stderr } = await runCli(['check'], { NODE_ENV: 'development' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ERROR session-secret-insecure: SESSION_SECRET /m);
    expect(stdout).toMatch(/^ERROR backup-encryption-missing: BACKUP_AGE_RECIPIENTS /m);
    expect(stdout).toMatch(/^ERROR public-url-plain-http: PUBLIC_URL /m);
    expect(stdout).toMatch(/^ERROR alerts-no-channel: ALERT_WEBHOOK_URL /m);
    expect(stdout).toMatch(/^WARN {2}metrics-closed: METRICS_TOKEN /m);
    expect(stderr.trim()).toMatch(/^kiroku: 4 error-level finding\(s\): production start-up would be refused$/);
  });

  it('exits 0 with no findings for production-ready settings', async () => {
    const { code, stdout } = await runCli(['check'], PRODUCTION_READY);
    expect(stdout.trim()).toBe('No findings: the settings are production-ready.');
    expect(code).toBe(0);
  });

  it('reports invalid settings in one line per setting and exits non-zero', async () => {
    const { code, stderr } = await runCli(['check'], { PORT: 'abc' });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/PORT: must be an integer/);
  });
});

describe('kiroku config', () => {
  it('prints every effective setting with secrets redacted', async () => {
    const { code, stdout } = await runCli(['config'], { ...PRODUCTION_READY, DATABASE_URL: 'postgres://kiroku:s3cr3t-pass@db/kiroku' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^PORT=8888$/m);
    expect(stdout).toMatch(/^SESSION_SECRET=\[redacted\]$/m);
    expect(stdout).toMatch(/^DATABASE_URL=postgres:\/\/kiroku:%5Bredacted%5D@db\/kiroku$/m);
    for (const secret of ['s3cr3t-pass', PRODUCTION_READY.SESSION_SECRET, PRODUCTION_READY.METRICS_TOKEN]) expect(stdout).not.toContain(secret);
  });
});

describe('kiroku usage errors', () => {
  it('exits non-zero on an unknown command', async () => {
    const { code, stderr } = await runCli(['frobnicate'], {});
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describeEachEngine('kiroku migrate', (engine) => {
  it('shows, runs and reverts migrations', async () => {
    const names = (engine === 'sqlite' ? sqliteMigrations : postgresMigrations).map((m) => new m().name);
    expect(names.slice(0, 3)).toEqual(['CreateFoundationTables1795901079716', 'CreateAccountTables1795902800728', 'CreateNotesTables1795904940286']);
    const env = await freshDatabase(engine);
    const pending = await runCli(['migrate', 'show'], env);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toMatch(engine === 'sqlite' ? /^SQLite 3\.\d+/m : /^PostgreSQL 15\./m);
    for (const name of names) expect(pending.stdout).toMatch(new RegExp(`^\\[ \\] ${name}$`, 'm'));
    expect(pending.stderr).toBe(`kiroku: ${names.length} migration(s) pending: run \`kiroku migrate run\`\n`);

    expect(await runCli(['migrate', 'run'], env)).toMatchObject({ code: 0, stdout: names.map((n) => `applied ${n}\n`).join('') });
    expect(await runCli(['migrate', 'run'], env)).toMatchObject({ code: 0, stdout: 'Schema is current: nothing to apply.\n' });
    const current = await runCli(['migrate', 'show'], env);
    expect(current.code).toBe(0);
    for (const name of names) expect(current.stdout).toMatch(new RegExp(`^\\[x\\] ${name}$`, 'm'));

    for (const name of [...names].reverse()) expect(await runCli(['migrate', 'revert'], env)).toMatchObject({ code: 0, stdout: `reverted ${name}\n` });
    expect(await runCli(['migrate', 'revert'], env)).toMatchObject({ code: 0, stdout: 'No migration is applied: nothing to revert.\n' });
  }, 120_000); // a dozen CLI processes, each starting Node and Nest
});

describe('kiroku migrate with an unreachable database', () => {
  it('fails at once with a one-line reason', async () => {
    const { code, stdout, stderr } = await runCli(['migrate', 'show'], { DATABASE_URL: 'postgres://kiroku@127.0.0.1:1/kiroku' });
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe('kiroku: command failed: connect ECONNREFUSED 127.0.0.1:1\n');
  });
});

describe('kiroku migrate with an unusable database path', () => {
  it('names DATABASE_PATH', async () => {
    const { code, stderr } = await runCli(['migrate', 'run'], { DATABASE_PATH: '/proc/self/status/data/kiroku.sqlite' });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/DATABASE_PATH: cannot create the folder/);
  });
});

describeEachEngine('kiroku users and tokens', (engine) => {
  it('refuses control characters in any argument and in a password, naming which, and writes nothing', async () => {
    const env = await freshDatabase(engine);
    expect((await runCli(['migrate', 'run'], env)).code).toBe(0);
    const rule = 'must not contain control characters (NUL, C0 or C1 controls, line breaks)';
    expect(await runCli(['users', 'create', '--email', 'c@example.com', '--name', 'Eve\u009b31m'], env)).toMatchObject({
      code: 1,
      stderr: `kiroku: --name ${rule}\n`,
    });
    expect(await runCli(['users', 'create', '--email', 'c@example.com\u0085', '--name', 'C'], env)).toMatchObject({
      code: 1,
      stderr: `kiroku: --email ${rule}\n`,
    });
    expect(await runCli(['users', 'create', '--email', 'c@example.com', '--name', 'C', '--password-stdin'], env, 'a long\u0000passphrase')).toMatchObject({
      code: 1,
      stderr: 'kiroku: password: Remove the control characters (invisible characters such as NUL) from this field.\n',
    });
    expect((await runCli(['users', 'list'], env)).stdout).toBe('');
    expect((await runCli(['users', 'create', '--email', 'c@example.com', '--name', 'C'], env)).code).toBe(0);
    expect(await runCli(['tokens', 'create', '--email', 'c@example.com', '--name', 'ci\u001b[2J'], env)).toMatchObject({
      code: 1,
      stderr: `kiroku: --name ${rule}\n`,
    });
    expect(await runCli(['backup', 'restore', 'abc\u007fdef', '--to', '/tmp/x.sqlite'], env)).toMatchObject({ code: 1, stderr: `kiroku: <id> ${rule}\n` });
  });

  it('lets an operator create, reset, disable and enable accounts and issue tokens that work', async () => {
    const env = await freshDatabase(engine);
    expect((await runCli(['migrate', 'run'], env)).code).toBe(0);
    const created = await runCli(['users', 'create', '--email', 'Ops@Example.com', '--name', 'Ops', '--admin'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created ops@example.com \(admin, id [0-9a-f-]{36}\)\npassword: [A-Za-z0-9_-]{24}\n$/);
    const generated = /password: (\S+)/.exec(created.stdout)![1];

    const weak = await runCli(['users', 'create', '--email', 'b@example.com', '--name', 'B', '--password-stdin'], env, 'password\n');
    expect(weak).toMatchObject({ code: 1, stderr: 'kiroku: password: This password is among the most common ones. Choose another.\n' });
    expect((await runCli(['users', 'create', '--email', 'b@example.com', '--name', 'B', '--password-stdin'], env, 'a fine passphrase\n')).code).toBe(0);

    const app = await startTestApp(env);
    try {
      expect((await new WebClient(app.url).login('ops@example.com', generated)).status).toBe(303);
      const reset = await runCli(['users', 'reset-password', '--email', 'ops@example.com', '--password-stdin'], env, 'a brand new passphrase');
      expect(reset.stdout).toBe('password reset for ops@example.com; every session of the account ended\n');
      expect((await new WebClient(app.url).login('ops@example.com', generated)).status).toBe(401);
      expect((await new WebClient(app.url).login('ops@example.com', 'a brand new passphrase')).status).toBe(303);

      const token = (await runCli(['tokens', 'create', '--email', 'b@example.com', '--name', 'ci'], env)).stdout.trim();
      expect(token).toMatch(/^krk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const me = await fetch(`${app.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toMatchObject({ email: 'b@example.com', role: 'user' });
      // Recorded as issued by an operator on the command line, with the token's prefix and never its secret.
      const [issued] = await app.app.get(AuditTrail).recent(10, 'token.created');
      expect(JSON.parse(issued.details)).toEqual({ tokenId: expect.any(String), prefix: token.slice(0, 16), via: 'cli' });

      expect((await runCli(['users', 'disable', '--email', 'b@example.com'], env)).stdout).toBe('disabled b@example.com\n');
      expect((await fetch(`${app.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      expect((await runCli(['users', 'enable', '--email', 'b@example.com'], env)).code).toBe(0);
      expect((await runCli(['users', 'list'], env)).stdout).toBe('ops@example.com\tadmin\tactive\tOps\nb@example.com\tuser\tactive\tB\n');
      expect(await runCli(['users', 'disable', '--email', 'nobody@example.com'], env)).toMatchObject({
        code: 1,
        stderr: 'kiroku: no account with the email nobody@example.com\n',
      });
    } finally {
      await app.close();
    }
  });
});
