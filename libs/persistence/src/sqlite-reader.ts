import { Worker } from 'node:worker_threads';
import type { SqlParam } from './database';

type Params = Record<string, SqlParam>;

/** Page cache of the reader's connection: a share of the main one's, for the pages heavy reads walk. */
const READER_CACHE_KIB = 32 * 1024;

/**
 * A read-only connection to the SQLite file in a worker thread, for reads
 * heavy enough to matter (ranked search at 100,000 notes costs 10–30 ms of
 * SQLite). On the application's own connection such a read stops the event
 * loop: every other request, health probes included, waits behind it. Here it
 * runs on another core while the event loop goes on. It sees committed data
 * only (WAL gives it a consistent snapshot per statement), never the open
 * transaction of another request.
 *
 * The worker starts on first use, and a worker that dies is replaced by the
 * next call; calls in flight when it died are rejected.
 */
export class SqliteReader {
  private thread?: ReaderThread;
  private nextId = 1;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    /** Statement texts kept prepared; beyond this many the memory starts over (as on the main connection). */
    private readonly statementCache: number,
  ) {}

  all<T>(sql: string, params: Params): Promise<T[]> {
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    // Referenced while it owes answers, so that a process waiting for one does not exit; idle, it does not hold the process.
    if (thread.pending.size === 0) thread.worker.ref();
    return new Promise<T[]>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      thread.worker.postMessage({ id, sql, params });
    });
  }

  /** Stops the worker and closes its connection (calls still waiting are rejected); a later call starts a new one. */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.worker.terminate();
  }

  private start(): ReaderThread {
    const worker = new Worker(READER_WORKER, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), file: this.file, busyTimeoutMs: this.busyTimeoutMs, cacheKib: READER_CACHE_KIB, statementCache: this.statementCache },
    });
    // Each thread answers its own calls: one that stops fails only what was sent to it, never a newer thread's calls.
    const thread: ReaderThread = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; rows?: unknown[]; error?: string; code?: string }) => {
      const call = thread.pending.get(m.id);
      if (!call) return;
      thread.pending.delete(m.id);
      if (thread.pending.size === 0) worker.unref();
      if (m.rows) call.resolve(m.rows);
      else call.reject(Object.assign(new Error(m.error ?? 'SQLite reader failed'), { code: m.code }));
    });
    const fail = (error: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const call of thread.pending.values()) call.reject(error);
      thread.pending.clear();
      worker.unref();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite reader thread stopped (exit ${code})`)));
    this.thread = thread;
    return thread;
  }
}

interface ReaderThread {
  worker: Worker;
  pending: Map<number, { resolve(rows: unknown[]): void; reject(error: Error): void }>;
}

const READER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
db.pragma('cache_size = -' + Number(workerData.cacheKib));
const statements = new Map();
parentPort.on('message', ({ id, sql, params }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (statements.size >= workerData.statementCache) statements.clear();
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: Object.keys(params).length ? statement.all(params) : statement.all() });
  } catch (error) {
    parentPort.postMessage({ id, error: error.message, code: error.code });
  }
});
`;
