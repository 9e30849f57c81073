import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './ports';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The folder with initdb and pg_ctl: PG_BIN_DIR, else the newest /usr/lib/postgresql/N/bin. */
export function findPostgresBinDir(env: Record<string, string | undefined> = process.env): string | null {
  if (env.PG_BIN_DIR) return existsSync(join(env.PG_BIN_DIR, 'initdb')) ? env.PG_BIN_DIR : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return null;
}

export interface PostgresCluster {
  readonly port: number;
  readonly dataDir: string;
  /** URL of a database in this cluster (the admin database by default). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stops the server, keeping its files (start() brings it back). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its files. */
  destroy(): Promise<void>;
}

/**
 * A throwaway PostgreSQL server for tests and benchmarks: initdb in a temporary
 * folder, on a free port on 127.0.0.1, durability switched off (it is thrown
 * away). PostgreSQL refuses to run as root, so as root it runs as `postgres`.
 */
export async function startPostgres(options: { binDir?: string } = {}): Promise<PostgresCluster> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found (install postgresql, or set PG_BIN_DIR)');
  const asRoot = userInfo().uid === 0;
  const base = mkdtempSync(join(tmpdir(), 'kiroku-pg-'));
  const dataDir = join(base, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(base, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args]) : run(join(binDir, tool), args));

  const port = await freePort();
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
  const serverOptions = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${base}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const start = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-o', serverOptions, '-l', join(base, 'server.log'), '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
  };
  await start();

  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dataDir,
    url,
    start,
    stop,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name ${name}`);
      await runPsql(binDir, url(), `CREATE DATABASE ${name}`);
      return url(name);
    },
    async destroy() {
      await stop('immediate').catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

async function runPsql(binDir: string, url: string, sql: string): Promise<void> {
  await run(join(binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
}
