import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, projectRoot, tempDir } from '@kiroku/testing';

const missing = ['nginx', 'logrotate'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length && process.env.CI === 'true') throw new Error(`CI=true but ${missing.join(' and ')} missing (apt-get install nginx logrotate)`);
const describeWithTools = missing.length ? describe.skip : describe;
if (missing.length) console.warn(`SKIPPED: nginx log format and logrotate tests (${missing.join(', ')} not installed)`);

const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

describeWithTools('nginx JSON access lines and their logrotate file (deploy/)', () => {
  let dir: string;
  let nginx: ChildProcess;
  let port: number;

  beforeAll(async () => {
    dir = tempDir();
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    port = await freePort();
    // Workers as root: on USR1 they reopen the log files by path, inside a test folder only root can enter.
    writeFileSync(
      join(dir, 'nginx.conf'),
      `
user root;
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/kiroku-error.log;
events {}
http {
  include ${projectRoot()}/deploy/nginx/kiroku-log-format.conf;
  access_log ${dir}/kiroku-access.log kiroku_json;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }
}
`,
    );
    const check = spawnSync('nginx', ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(check.stderr).toMatch(/syntax is ok/);
    nginx = spawn('nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    // Ready once the port accepts a connection (a bare TCP connect writes no access line).
    const accepts = () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    for (let i = 0; i < 200 && !(await accepts()); i++) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 100 && !existsSync(join(dir, 'nginx.pid')); i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(() => nginx?.kill('SIGQUIT'));

  it('writes one JSON object per request, escaping what the client sent and leaving the query string out', async () => {
    await fetch(`http://127.0.0.1:${port}/notes?token=krk_secret_in_query`, { headers: { 'user-agent': 'agent "quoted" \\ {"forged":true}' } });
    await new Promise((r) => setTimeout(r, 200));
    const [line] = lines(join(dir, 'kiroku-access.log'));
    expect(line).toMatchObject({
      stream: 'access',
      source: 'nginx',
      method: 'GET',
      path: '/notes',
      status: 200,
      ip: '127.0.0.1',
      userAgent: 'agent "quoted" \\ {"forged":true}',
      reqId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(typeof line.durationS).toBe('number');
    expect(readFileSync(join(dir, 'kiroku-access.log'), 'utf8')).not.toContain('krk_secret_in_query');
  });

  it('rotates by renaming and making nginx reopen its files: every line in exactly one file, none lost', async () => {
    const conf = readFileSync(join(projectRoot(), 'deploy/logrotate/kiroku-nginx'), 'utf8')
      .replaceAll('/var/log/nginx', dir)
      .replaceAll('/run/nginx.pid', `${dir}/nginx.pid`)
      .replace(/^\s*create .*$/m, '    create 0640 root root');
    writeFileSync(join(dir, 'logrotate.conf'), conf);
    const state = join(dir, 'logrotate.state');
    const dry = spawnSync('logrotate', ['-d', '-s', state, join(dir, 'logrotate.conf')], { encoding: 'utf8' });
    expect(dry.status).toBe(0);
    expect(dry.stderr).toMatch(/rotating pattern: .*kiroku-access\.log/);

    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/before/${i}`);
    const rotated = spawnSync('logrotate', ['-f', '-s', state, join(dir, 'logrotate.conf')], { encoding: 'utf8' });
    expect(rotated.stderr).toBe('');
    expect(rotated.status).toBe(0);
    // nginx reopens its files asynchronously after USR1: probe until a line lands in the new file.
    const current = () => lines(join(dir, 'kiroku-access.log')).map((l) => l.path as string);
    for (let i = 0; i < 50 && !current().some((p) => p.startsWith('/probe/')); i++) {
      await fetch(`http://127.0.0.1:${port}/probe/${i}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/after/${i}`);
    await new Promise((r) => setTimeout(r, 200));

    const day = new Date().toISOString().slice(0, 10);
    const old = lines(join(dir, `kiroku-access.log-${day}`)).map((l) => l.path as string);
    const now = current();
    expect(old.filter((p) => p.startsWith('/before/'))).toHaveLength(20);
    expect(now.filter((p) => p.startsWith('/after/'))).toHaveLength(20);
    const all = [...old, ...now];
    expect(all.filter((p) => p.startsWith('/before/') || p.startsWith('/after/'))).toHaveLength(40);
    expect(new Set(all.filter((p) => p.startsWith('/probe/'))).size).toBe(all.filter((p) => p.startsWith('/probe/')).length);
  });
});
