import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SqlParam } from './sql-param';

type Params = Record<string, SqlParam>;

/** Page cache of each reader connection: a share of the main one's, for the pages heavy reads walk. */
const READER_CACHE_KIB = 32 * 1024;

/** At most this many reader threads: one per core, up to four. */
export const MAX_READERS = Math.min(4, availableParallelism());

/**
 * Read-only connections to the SQLite file in worker threads, for reads
 * heavy enough to matter (ranked search at 100,000 notes costs 2–10 ms of
 * SQLite). On the application's own connection such a read stops the event
 * loop: every other request, health probes included, waits behind it. Here it
 * runs on another core while the event loop goes on. Each sees committed data
 * only (WAL gives it a consistent snapshot per statement), never the open
 * transaction of another request.
 *
 * The first thread starts on first use. A call goes to an idle thread; when
 * every thread is busy, another one starts, up to one per core (MAX_READERS),
 * and past that the call waits on the thread with the fewest calls. A thread
 * that dies is dropped (its calls in flight are rejected) and replaced when
 * needed.
 */
export class SqliteReader {
  private threads: ReaderThread[] = [];
  private nextId = 1;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    /** Statement texts kept prepared per thread; beyond this many its memory starts over (as on the main connection). */
    private readonly statementCache: number,
    private readonly maxThreads = MAX_READERS,
  ) {}

  /** Threads running now. */
  get size(): number {
    return this.threads.length;
  }

  all<T>(sql: string, params: Params): Promise<T[]> {
    const thread = this.pick();
    const id = this.nextId++;
    // Referenced while it owes answers, so that a process waiting for one does not exit; idle, it does not hold the process.
    if (thread.pending.size === 0) thread.worker.ref();
    return new Promise<T[]>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      thread.worker.postMessage({ id, sql, params });
    });
  }

  /** Stops the threads and closes their connections (calls still waiting are rejected); a later call starts a new one. */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private pick(): ReaderThread {
    let least: ReaderThread | undefined;
    for (const thread of this.threads) {
      if (thread.pending.size === 0) return thread;
      if (!least || thread.pending.size < least.pending.size) least = thread;
    }
    return !least || this.threads.length < this.maxThreads ? this.start() : least;
  }

  private start(): ReaderThread {
    const worker = new Worker(READER_WORKER, {
      eval: true,
      workerData: {
        module: require.resolve('better-sqlite3'),
        file: this.file,
        busyTimeoutMs: this.busyTimeoutMs,
        cacheKib: READER_CACHE_KIB,
        statementCache: this.statementCache,
      },
    });
    // Each thread answers its own calls: one that stops fails only what was sent to it, never another thread's calls.
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
      this.threads = this.threads.filter((t) => t !== thread);
      for (const call of thread.pending.values()) call.reject(error);
      thread.pending.clear();
      worker.unref();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite reader thread stopped (exit ${code})`)));
    this.threads.push(thread);
    return thread;
  }
}

/**
 * Worker code that lowers its own thread's CPU priority (nice 10) on Linux, where a thread has an id of its own
 * that setpriority takes: when cores are short, the event loop (health probes, every other request) goes first
 * and this thread gets the rest. Elsewhere it does nothing.
 */
const BELOW_EVENT_LOOP = `
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 10);
} catch {}
`;

interface ReaderThread {
  worker: Worker;
  pending: Map<number, { resolve(rows: unknown[]): void; reject(error: Error): void }>;
}

const READER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
${BELOW_EVENT_LOOP}
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
