import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { builtEntry, childEnv, projectRoot, tempDir } from './paths';
import { freePort } from './ports';
import { PostgresCluster, startPostgres } from './postgres-launcher';

const run = promisify(execFile);

/**
 * The reference cluster topology, run with local processes: one PostgreSQL,
 * migrations applied once, N app processes on their own ports with
 * MIGRATIONS=off, and nginx in front with one upstream and passive failover,
 * its config rendered from deploy/nginx. `npm run cluster`, the topology
 * tests and the cluster benchmark all start it through startCluster().
 */
export interface ClusterOptions {
  /** App processes behind nginx [3]. */
  instances?: number;
  /** An existing PostgreSQL database; without it a throwaway server is started (and removed on stop). */
  databaseUrl?: string;
  /** Settings for every app process, over the harness's own (NODE_ENV defaults to test). */
  env?: Record<string, string>;
  /** nginx's port on 127.0.0.1 [a free one]. */
  port?: number;
  /** Every line an app process, the migration or nginx prints, as it arrives. */
  onLine?: (source: string, line: string) => void;
}

export interface ClusterInstance {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** Everything this process printed since the harness started it the first time. */
  output(): string;
  running(): boolean;
  /** Resolves with the exit code or signal of the current process. */
  exited(): Promise<number | string>;
}

export interface KirokuCluster {
  /** nginx: the one address clients use. */
  readonly url: string;
  readonly databaseUrl: string;
  readonly instances: readonly ClusterInstance[];
  /** The folder with nginx's config, pid and logs (access.log is JSON lines). */
  readonly dir: string;
  /** Signals one app process and waits for it to exit. */
  stopInstance(index: number, signal?: NodeJS.Signals): Promise<number | string>;
  /** Starts a stopped app process again on its port and waits until it is ready. */
  startInstance(index: number): Promise<void>;
  /**
   * Restarts every process, one at a time, the way an operator does on a VM:
   * out of nginx's rotation (reload), SIGTERM (it drains), start, wait for
   * ready, back into rotation, next.
   */
  rollingRestart(onStep?: (index: number, step: string) => void): Promise<void>;
  /** Stops nginx, every app process (SIGTERM), and the PostgreSQL server the harness started. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

export async function startCluster(options: ClusterOptions = {}): Promise<KirokuCluster> {
  const count = options.instances ?? 3;
  const onLine = options.onLine ?? (() => undefined);
  const dir = tempDir('kiroku-cluster-');
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let postgres: PostgresCluster | undefined;
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      postgres = await startPostgres();
      cleanups.push(() => postgres!.destroy());
      databaseUrl = await postgres.createDatabase('kiroku');
    }
    const port = options.port ?? (await freePort());
    const url = `http://127.0.0.1:${port}`;
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    mkdirSync(join(dir, 'backups'));

    const env: Record<string, string> = {
      ...childEnv(),
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      TOPOLOGY: 'cluster',
      MIGRATIONS: 'off',
      // nginx on this machine is the only proxy whose X-Forwarded-* headers count.
      TRUST_PROXY: '127.0.0.1',
      PUBLIC_URL: url,
      LOG_FORMAT: 'json',
      // Shared by all processes, as a volume or blob container would be.
      BACKUP_DIR: join(dir, 'backups'),
      ...options.env,
    };

    // Migrations once, before any app process starts (the Kubernetes migration Job's role).
    const migrate = await runToEnd([builtEntry('cli'), 'migrate', 'run'], env, (line) => onLine('migrate', line));
    if (migrate.code !== 0) throw new Error(`kiroku migrate run failed (exit ${migrate.code}):\n${migrate.output}`);

    const instances = ports.map((p, i) => new AppProcess(`kiroku-${i + 1}`, p, { ...env, PORT: String(p) }, onLine));
    cleanups.push(async () => {
      await Promise.all(instances.map((instance) => instance.stop('SIGTERM')));
    });
    await Promise.all(instances.map((instance) => instance.start()));

    const nginx = new NginxFront(dir, port, ports, onLine);
    cleanups.push(() => nginx.stop());
    await nginx.start();

    const rollingRestart = async (onStep: (index: number, step: string) => void = () => undefined) => {
      for (let i = 0; i < instances.length; i++) {
        onStep(i, 'out of rotation');
        await nginx.setDown(i, true);
        onStep(i, 'SIGTERM');
        const code = await instances[i].stop('SIGTERM');
        if (code !== 0) throw new Error(`${instances[i].name} exited with ${code} on SIGTERM:\n${instances[i].output().slice(-4000)}`);
        onStep(i, 'starting');
        await instances[i].start();
        onStep(i, 'ready, back in rotation');
        await nginx.setDown(i, false);
      }
    };

    return {
      url,
      databaseUrl,
      instances,
      dir,
      stopInstance: (index, signal = 'SIGTERM') => instances[index].stop(signal),
      startInstance: (index) => instances[index].start(),
      rollingRestart,
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One app process on a fixed port: (re)started by the harness, watched until ready. */
class AppProcess implements ClusterInstance {
  private child?: ChildProcess;
  private exit?: Promise<number | string>;
  private text = '';

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly onLine: (source: string, line: string) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  output(): string {
    return this.text;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  exited(): Promise<number | string> {
    return this.exit ?? Promise.resolve(-1);
  }

  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running`);
    const child = spawn(process.execPath, [builtEntry('main')], { cwd: projectRoot(), env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const lines = splitLines((line) => {
      this.text += `${line}\n`;
      this.onLine(this.name, line);
    });
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    await waitReady(this, READY_TIMEOUT_MS);
  }

  async stop(signal: NodeJS.Signals): Promise<number | string> {
    if (this.running()) this.child!.kill(signal);
    return this.exited();
  }
}

/** Polls /health/ready until 200; fails early if the process exits. */
async function waitReady(instance: AppProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!instance.running()) throw new Error(`${instance.name} exited (${await instance.exited()}) before it was ready:\n${instance.output().slice(-4000)}`);
    try {
      const res = await fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${instance.name} not ready within ${timeoutMs} ms:\n${instance.output().slice(-4000)}`);
}

/**
 * nginx in front, configured from the same files an operator installs
 * (deploy/nginx): the JSON access log format and the proxy locations are
 * included as they are, the upstream is rendered from kiroku-upstream.conf
 * with the harness's ports. Only listening on 127.0.0.1 without TLS, the
 * temp paths and one diagnostic header differ from the VM's site file.
 */
class NginxFront {
  private child?: ChildProcess;
  private exit?: Promise<number | string>;
  private readonly down = new Set<number>();
  private text = '';

  constructor(
    private readonly dir: string,
    private readonly port: number,
    private readonly ports: number[],
    private readonly onLine: (source: string, line: string) => void,
  ) {}

  private get confFile(): string {
    return join(this.dir, 'nginx.conf');
  }

  private get pidFile(): string {
    return join(this.dir, 'nginx.pid');
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    this.write();
    await run('nginx', ['-t', '-q', '-p', `${this.dir}/`, '-c', this.confFile]).catch((error: Error & { code?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') throw new Error('nginx is not installed (apt-get install nginx)');
      throw new Error(`nginx -t rejected the generated config:\n${error.stderr ?? error.message}`);
    });
    const child = spawn('nginx', ['-p', `${this.dir}/`, '-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const lines = splitLines((line) => {
      this.text += `${line}\n`;
      this.onLine('nginx', line);
    });
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${this.text}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/health/live`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200 && existsSync(this.pidFile)) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nginx did not answer on ${this.port}:\n${this.text}`);
  }

  /** Takes a process out of (or back into) the rotation: graceful reload, old workers finish their requests. */
  async setDown(index: number, down: boolean): Promise<void> {
    if (down) this.down.add(index);
    else this.down.delete(index);
    this.write();
    const before = this.workers();
    process.kill(this.masterPid(), 'SIGHUP');
    // The reload is done once none of the old workers remains (they exit after their last request).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && this.workers().some((pid) => before.includes(pid))) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGQUIT');
    await this.exit;
  }

  private masterPid(): number {
    return Number(readFileSync(this.pidFile, 'utf8').trim());
  }

  /** The worker processes of the master, from /proc. */
  private workers(): number[] {
    const master = this.masterPid();
    try {
      return readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  private write(): void {
    const deploy = join(projectRoot(), 'deploy', 'nginx');
    const upstream = renderUpstream(readFileSync(join(deploy, 'kiroku-upstream.conf'), 'utf8'), this.ports, this.down);
    const tmp = join(this.dir, 'tmp');
    writeFileSync(
      this.confFile,
      `# Generated by the cluster harness (libs/testing/src/cluster.ts) from deploy/nginx.
${userInfo().uid === 0 ? 'user root;\n' : ''}daemon off;
worker_processes 1;
pid ${this.pidFile};
error_log stderr warn;
events { worker_connections 1024; }
http {
  include ${join(deploy, 'kiroku-log-format.conf')};
  access_log ${join(this.dir, 'access.log')} kiroku_json;
  client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp}; uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};
${upstream}
  server {
    listen 127.0.0.1:${this.port};
    server_tokens off;
    # Harness only: which process answered, so tests can show a session crossing processes.
    add_header X-Kiroku-Upstream $upstream_addr always;
    include ${join(deploy, 'kiroku-proxy.conf')};
  }
}
`,
    );
  }
}

/**
 * kiroku-upstream.conf with its server lines replaced by one per port, each
 * with the parameters of the file's first server line (`down` for the ones
 * out of rotation).
 */
export function renderUpstream(template: string, ports: number[], down: ReadonlySet<number> = new Set()): string {
  const serverLine = /^(\s*)server\s+\S+(.*);\s*$/m;
  const first = serverLine.exec(template);
  if (!first) throw new Error('kiroku-upstream.conf has no server line');
  const [, indent, params] = first;
  const servers = ports.map((p, i) => `${indent}server 127.0.0.1:${p}${params}${down.has(i) ? ' down' : ''};`).join('\n');
  const lines = template.split('\n');
  const firstIndex = lines.findIndex((l) => serverLine.test(l));
  const rest = lines.filter((l, i) => i <= firstIndex || !serverLine.test(l));
  rest[firstIndex] = servers;
  return rest.join('\n');
}

function splitLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const line of parts) onLine(line);
  };
}

/** Runs `node <args>` to completion. */
async function runToEnd(args: string[], env: Record<string, string>, onLine: (line: string) => void): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, args, { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const lines = splitLines((line) => {
    output += `${line}\n`;
    onLine(line);
  });
  child.stdout.on('data', lines);
  child.stderr.on('data', lines);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, output };
}
