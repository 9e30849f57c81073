import { Worker } from 'node:worker_threads';

/** SQLite's own threshold, in WAL pages, at which a committing connection checkpoints. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

/**
 * While the checkpointer runs, the application's connection checkpoints only
 * past this many WAL pages (64 MiB at 4 KiB pages): a backstop that keeps the
 * WAL bounded should the thread fall behind, never the usual path.
 */
export const BACKSTOP_AUTOCHECKPOINT = 16_384;

/** How often the thread copies what the WAL holds into the database file. */
const INTERVAL_MS = 500;

/** The figures of the last checkpoint that copied anything. */
export interface CheckpointStats {
  /** Checkpoints that copied pages since start-up. */
  runs: number;
  /** Pages in the WAL at the last one. */
  walPages: number;
  /** Of those, pages it could not copy yet (a reader still needed them); 0 when it caught up. */
  lagPages: number;
  /** How long it took, fsyncs included. */
  lastMs: number;
}

/**
 * Copies the write-ahead log into the database file from a worker thread.
 *
 * By default the connection that commits checkpoints once the WAL passes
 * 1,000 pages: that commit then writes the pages into the database file and
 * fsyncs it, on the event loop (at 100,000 notes, creates measured 10–120 ms
 * stops every few dozen commits, felt by every request in flight). Here a
 * second connection does it every half second (PASSIVE: it never waits for
 * or blocks the writer), and the application's connection keeps only a
 * backstop of 16,384 pages. A page written many times between two runs is
 * copied once.
 *
 * If the thread fails, the connection gets SQLite's own behaviour back
 * (checkpoint at 1,000 pages) and the thread is started again a minute later.
 */
export class SqliteCheckpointer {
  private worker?: Worker;
  private restart?: NodeJS.Timeout;
  private stopped = false;
  readonly stats: CheckpointStats = { runs: 0, walPages: 0, lagPages: 0, lastMs: 0 };

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    /** Sets the application connection's `wal_autocheckpoint`. */
    private readonly autocheckpoint: (pages: number) => void,
    private readonly warn: (message: string) => void,
    private readonly intervalMs = INTERVAL_MS,
  ) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  start(): void {
    if (this.stopped || this.worker) return;
    const worker = new Worker(CHECKPOINT_WORKER, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), file: this.file, busyTimeoutMs: this.busyTimeoutMs, intervalMs: this.intervalMs },
    });
    // Its timer must not keep a finished process alive.
    worker.unref();
    this.worker = worker;
    this.autocheckpoint(BACKSTOP_AUTOCHECKPOINT);
    worker.on('message', (m: { walPages: number; lagPages: number; ms: number } | { error: string }) => {
      if ('error' in m) {
        this.warn(`SQLite checkpoint failed: ${m.error}`);
        return;
      }
      this.stats.runs++;
      this.stats.walPages = m.walPages;
      this.stats.lagPages = m.lagPages;
      this.stats.lastMs = m.ms;
    });
    const fail = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.autocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT);
      if (this.stopped) return;
      this.warn(`the SQLite checkpoint thread stopped (${reason}); the connection checkpoints on its own until it is started again in a minute`);
      this.restart = setTimeout(() => this.start(), 60_000).unref();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit ${code}`));
  }

  /** Stops the thread and closes its connection; the application's connection checkpoints on its own again. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('close');
    // A checkpoint in progress finishes first; one that hangs (a disk that stopped answering) is not waited for.
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
let last = '';
const checkpoint = () => {
  const started = performance.now();
  try {
    // Pages committed while a round ran are copied by the next; a few rounds catch up with a busy writer, so that
    // its next transaction can start the WAL over from the beginning.
    let result;
    for (let round = 0; round < 4; round++) {
      [result] = db.pragma('wal_checkpoint(PASSIVE)');
      if (result.busy || result.checkpointed >= result.log) break;
    }
    const seen = result.log + ':' + result.checkpointed;
    if (result.log > 0 && seen !== last) {
      parentPort.postMessage({ walPages: result.log, lagPages: result.log - result.checkpointed, ms: performance.now() - started });
    }
    last = seen;
  } catch (error) {
    parentPort.postMessage({ error: error.message });
  }
};
const timer = setInterval(checkpoint, Number(workerData.intervalMs));
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
