import { Worker } from 'node:worker_threads';

/** SQLite's own threshold, in WAL pages, at which a committing connection checkpoints. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

/**
 * The thread starts the WAL over once it holds this many pages (32 MiB at 4 KiB pages): a RESTART checkpoint
 * (see SqliteCheckpointer). Each one makes one write wait for a copy and two fsyncs; at about 30 pages a note,
 * that is one create in 270 under a steady stream of them.
 */
export const RESTART_PAGES = 8192;

/**
 * While the checkpointer runs, the application's connection checkpoints only past this many WAL pages (64 MiB):
 * twice where the thread starts the WAL over, so that it fires only when the thread could not (a reader kept
 * using the WAL, or the thread stopped). That checkpoint runs on the event loop.
 */
export const BACKSTOP_AUTOCHECKPOINT = 2 * RESTART_PAGES;

/**
 * The WAL file's size on disk after it starts over (journal_size_limit): above what it holds when the backstop
 * fires (16,384 frames of a 4 KiB page and a 24-byte header, 67.5 MB), so that starting over reuses the file.
 * Cutting it back took 18–24 ms on the event loop (an ftruncate on ext4), at every start; now only a WAL grown
 * further (a long reader) is cut back.
 */
export const WAL_SIZE_LIMIT_BYTES = 80 * 1024 * 1024;

/** How often the thread copies what the WAL holds into the database file, when idle. */
const INTERVAL_MS = 500;
/** ...and while writes keep coming. */
const BUSY_INTERVAL_MS = 50;
/** Checkpoints failing in a row before the thread gives the work back to the application's connection. */
const MAX_FAILURES = 10;
/** How long a RESTART checkpoint waits for the writer and then for readers, holding off every other writer meanwhile. */
const RESTART_WAIT_MS = 20;
/**
 * After a RESTART that could not finish (a reader kept using the WAL, as a backup does for its whole copy), the
 * next is not tried for this long, twice as long after each further one, up to RESTART_BACKOFF_MAX_MS.
 */
const RESTART_BACKOFF_MS = 1000;
const RESTART_BACKOFF_MAX_MS = 30_000;

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
  /** RESTART checkpoints since start-up: each let the next write start the WAL over. */
  restarts: number;
}

/** Tuning: tests shorten the interval and lower the threshold. */
export interface CheckpointerOptions {
  /** How often the thread looks for work when idle (0.5 s). */
  intervalMs?: number;
  /** WAL pages at which it starts the WAL over (RESTART_PAGES). */
  restartPages?: number;
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
 * pages while it copies), so past 8,192 pages it runs a RESTART checkpoint:
 * writers wait (on a timer, not on the event loop) while it copies the last
 * pages and fsyncs, and the next write starts the WAL over. The application's
 * connection keeps a backstop at twice that, for when the thread cannot (a
 * reader stays in the WAL); it used to be the one starting the WAL over, at
 * 4,096 pages, and its copy and fsyncs on the event loop were the slowest
 * creates of a steady stream.
 *
 * If the thread fails (or its checkpoints fail ten times in a row), the
 * connection gets SQLite's own behaviour back (checkpoint at 1,000 pages) and
 * the thread is started again a minute later.
 */
export class SqliteCheckpointer {
  private worker?: Worker;
  private restart?: NodeJS.Timeout;
  private stopped = false;
  readonly stats: CheckpointStats = { runs: 0, walPages: 0, lagPages: 0, lastMs: 0, restarts: 0 };

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    /** Sets the application connection's `wal_autocheckpoint`. */
    private readonly autocheckpoint: (pages: number) => void,
    private readonly warn: (message: string) => void,
    private readonly options: CheckpointerOptions = {},
  ) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  start(): void {
    if (this.stopped || this.worker) return;
    const worker = new Worker(CHECKPOINT_WORKER, {
      eval: true,
      workerData: {
        module: require.resolve('better-sqlite3'),
        file: this.file,
        busyTimeoutMs: this.busyTimeoutMs,
        intervalMs: this.options.intervalMs ?? INTERVAL_MS,
        restartPages: this.options.restartPages ?? RESTART_PAGES,
      },
    });
    // Its timer must not keep a finished process alive.
    worker.unref();
    this.worker = worker;
    this.autocheckpoint(BACKSTOP_AUTOCHECKPOINT);
    worker.on('message', (m: { walPages: number; lagPages: number; ms: number; restarted: boolean } | { error: string }) => {
      if ('error' in m) {
        this.warn(`SQLite checkpoint failed: ${m.error}`);
        return;
      }
      this.stats.runs++;
      this.stats.walPages = m.walPages;
      this.stats.lagPages = m.lagPages;
      this.stats.lastMs = m.ms;
      if (m.restarted) this.stats.restarts++;
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
const busyTimeout = 'busy_timeout = ' + Number(workerData.busyTimeoutMs);
db.pragma(busyTimeout);
let last = '';
let failures = 0;
let restartAfter = 0;
let backoff = ${RESTART_BACKOFF_MS};
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
    // Under a steady stream of writes PASSIVE never quite catches up, and the WAL starts over only when a write
    // begins with every page copied. Past restartPages, RESTART holds off writers while it copies the last few
    // pages and waits for readers to leave the WAL (the application's writes wait on a timer, see
    // beginImmediate), so that the next write starts the WAL over: the application's connection need not (its
    // backstop would copy and fsync on the event loop). It waits briefly; a reader still in the WAL (a backup)
    // puts the next try off, further each time.
    let restarted = false;
    if (!result.busy && result.log >= Number(workerData.restartPages) && Date.now() >= restartAfter) {
      db.pragma('busy_timeout = ${RESTART_WAIT_MS}');
      try {
        [result] = db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma(busyTimeout);
      }
      restarted = !result.busy;
      if (restarted) {
        backoff = ${RESTART_BACKOFF_MS};
      } else {
        restartAfter = Date.now() + backoff;
        backoff = Math.min(backoff * 2, ${RESTART_BACKOFF_MAX_MS});
      }
    }
    failures = 0;
    const seen = result.log + ':' + result.checkpointed;
    copied = seen !== last && result.log > 0;
    if (seen !== last || restarted) {
      parentPort.postMessage({ walPages: Math.max(0, result.log), lagPages: Math.max(0, result.log - result.checkpointed), ms: performance.now() - started, restarted });
    }
    last = seen;
  } catch (error) {
    parentPort.postMessage({ error: error.message });
    // A checkpoint that keeps failing hands the work back to the application's connection (see SqliteCheckpointer).
    if (++failures >= ${MAX_FAILURES}) process.exit(1);
  }
  // While writes come in, the next round follows soon, so that little is left to copy when the WAL starts over;
  // idle, twice a second.
  timer = setTimeout(checkpoint, copied ? ${BUSY_INTERVAL_MS} : Number(workerData.intervalMs));
};
timer = setTimeout(checkpoint, Number(workerData.intervalMs));
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;
