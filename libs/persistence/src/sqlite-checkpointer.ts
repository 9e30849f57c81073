import { Worker } from 'node:worker_threads';

/** SQLite's own threshold, in WAL pages, at which a committing connection checkpoints. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

/**
 * While the checkpointer runs, the application's connection checkpoints only
 * past this many WAL pages (16 MiB at 4 KiB pages). By then the thread has
 * copied nearly all of them, so that checkpoint copies little; it is what lets
 * the WAL start over under a steady stream of writes (see below).
 */
export const BACKSTOP_AUTOCHECKPOINT = 4096;

/** How often the thread copies what the WAL holds into the database file, when idle. */
const INTERVAL_MS = 500;
/** ...and while writes keep coming. */
const BUSY_INTERVAL_MS = 50;
/** Checkpoints failing in a row before the thread gives the work back to the application's connection. */
const MAX_FAILURES = 10;

/** The figures of the last checkpoint that changed anything. */
export interface CheckpointStats {
  /** Checkpoints that reported since start-up. */
  runs: number;
  /** Pages in the WAL at the last one. */
  walPages: number;
  /** Of those, pages it could not copy yet (a reader still needed them, or the writer was faster); 0 when it caught up. */
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
 * second connection copies them (PASSIVE: it never waits for or blocks the
 * writer) every half second, and every 50 ms while writes keep coming. A page
 * written many times between two runs is copied once.
 *
 * The WAL starts over only when a write begins with every page copied. Under a
 * steady stream of writes the thread never quite catches up (the writer adds
 * pages while it copies), so the application's connection keeps a backstop:
 * past 4,096 pages its commit checkpoints, which now means copying the few
 * pages of the last 50 ms and an fsync, and its next write starts the WAL
 * over.
 *
 * If the thread fails (or its checkpoints fail ten times in a row), the
 * connection gets SQLite's own behaviour back (checkpoint at 1,000 pages) and
 * the thread is started again a minute later.
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
    // A checkpoint in progress finishes first. One that hangs (a disk that stopped answering) is not waited for
    // past 5 s: terminate() cannot interrupt SQLite, so the thread ends when it returns. The pages it had not
    // copied stay in the WAL, which the next start reads.
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)))]);
    clearTimeout(timer);
    if (!waited) void worker.terminate();
  }
}

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
let last = '';
let failures = 0;
let timer;
const checkpoint = () => {
  const started = performance.now();
  let copied = false;
  try {
    // Pages committed while a round ran are copied by the next; a few rounds catch up with a busy writer.
    let result;
    for (let round = 0; round < 4; round++) {
      [result] = db.pragma('wal_checkpoint(PASSIVE)');
      if (result.busy || result.checkpointed >= result.log) break;
    }
    failures = 0;
    const seen = result.log + ':' + result.checkpointed;
    copied = seen !== last && result.log > 0;
    if (seen !== last) parentPort.postMessage({ walPages: Math.max(0, result.log), lagPages: Math.max(0, result.log - result.checkpointed), ms: performance.now() - started });
    last = seen;
  } catch (error) {
    parentPort.postMessage({ error: error.message });
    // A checkpoint that keeps failing hands the work back to the application's connection (see SqliteCheckpointer).
    if (++failures >= ${MAX_FAILURES}) process.exit(1);
  }
  // While writes come in, the next round follows soon, so that little is left for the application's connection
  // when its backstop fires; idle, twice a second.
  timer = setTimeout(checkpoint, copied ? ${BUSY_INTERVAL_MS} : Number(workerData.intervalMs));
};
timer = setTimeout(checkpoint, Number(workerData.intervalMs));
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;
