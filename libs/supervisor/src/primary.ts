import cluster, { Worker } from 'node:cluster';
import { GATHER_TIMEOUT_MS } from './machine';
import { ConfiguredMessage, INSTANCE_ID_ENV, isMessage, MachineState, PrimaryMessage, WORKER_SLOT_ENV, WorkerMessage } from './messages';
import { SqliteFileLock } from './sqlite-file-lock';

/** The most V8's young generation may take of a worker: 3 semi-spaces of this many MiB (V8's own: 16). */
const WORKER_SEMI_SPACE_MIB = 8;

/**
 * The node flags a worker starts with: the primary's own, and a young generation of at most 3 × 8 MiB unless the
 * operator chose one (`--max-semi-space-size` in NODE_OPTIONS or on the command line). V8 grows a worker's young
 * generation during start-up to its largest (3 × 16 MiB) and, in some starts, keeps it at rest: 135–149 MiB
 * resident where the others sit at 108–116. With 8 MiB no worker passed 113 MiB in six starts, and a list page
 * served as fast (1,891 against 1,922 req/s, within the noise of three alternating rounds).
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((flag) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(flag));
  return chosen ? [...execArgv] : [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`];
}

export interface PrimaryOptions {
  instanceId: string;
  /** Where the primary's own lines go when no worker is there to log them (stdout, as the workers' lines, by default). */
  fallbackLog?: (line: string) => void;
  /** First restart delay after a crash; doubles while workers keep crashing, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A worker that lived this long before it died restarts after backoffMs again. */
  stableAfterMs?: number;
  /** How often the primary tries the SQLite lock while another machine holds it. */
  lockRetryMs?: number;
}

interface Slot {
  index: number;
  worker?: Worker;
  listening: boolean;
  startedAt: number;
  /** Crashes in a row, each of a worker that did not live stableAfterMs. */
  crashes: number;
  restart?: NodeJS.Timeout;
}

interface Gathering {
  asker: Worker;
  waiting: Set<number>;
  results: unknown[];
  timer: NodeJS.Timeout;
}

/**
 * The primary of a machine of WEB_CONCURRENCY workers. It serves no request
 * and loads no framework (it stays small): it forks worker 0, which validates
 * the settings and says how many workers the machine runs and which SQLite
 * file it serves; takes that file's lock for the whole machine; forks the
 * other workers; restarts a worker that dies, with backoff, saying why it
 * died; relays gathers (metrics, samples) between workers; and on SIGTERM or
 * SIGINT drains every worker and exits 0, or 1 when one did not stop cleanly.
 * A worker that dies before the machine first started stops the machine with
 * its exit code: a start-up failure (bad settings: 78) would only repeat.
 */
export class Primary {
  private readonly slots: Slot[] = [];
  private readonly gatherings = new Map<string, Gathering>();
  private configured?: ConfiguredMessage;
  private lock?: SqliteFileLock;
  private lockRetry?: NodeJS.Timeout;
  private started = false;
  private prepared = false;
  private stopping = false;
  private stopFailed = false;
  private readonly options: Required<PrimaryOptions>;

  constructor(options: PrimaryOptions) {
    this.options = {
      fallbackLog: (line) => process.stdout.write(`${line}\n`),
      backoffMs: 1000,
      maxBackoffMs: 30_000,
      stableAfterMs: 60_000,
      lockRetryMs: 2000,
      ...options,
    };
  }

  start(): void {
    process.title = 'kiroku primary';
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    cluster.on('message', (worker, message: unknown) => {
      if (isMessage<WorkerMessage>(message)) this.receive(worker, message);
    });
    cluster.on('listening', (worker) => this.listening(worker));
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
    process.on('SIGTERM', () => this.stop('SIGTERM'));
    process.on('SIGINT', () => this.stop('SIGINT'));
    this.fork(0);
  }

  state(): MachineState {
    return {
      up: this.slots.filter((s) => s.listening).length,
      of: this.configured?.workers ?? 0,
      started: this.started,
      servesDatabase: this.configured ? (this.lock?.held ?? true) : false,
      prepared: this.prepared,
    };
  }

  private fork(index: number): void {
    const slot = (this.slots[index] ??= { index, listening: false, startedAt: 0, crashes: 0 });
    slot.startedAt = Date.now();
    slot.listening = false;
    slot.worker = cluster.fork({ [WORKER_SLOT_ENV]: String(index), [INSTANCE_ID_ENV]: this.options.instanceId });
  }

  private receive(worker: Worker, message: WorkerMessage): void {
    switch (message.type) {
      case 'kiroku:hello':
        // A worker listens from here on: it learns the machine's state (a replacement, or one started before the first word).
        if (this.configured) this.sendTo(worker, { type: 'kiroku:state', state: this.state() });
        return;
      case 'kiroku:configured':
        if (!this.configured) this.configure(message);
        return;
      case 'kiroku:prepared':
        this.prepared = true;
        this.broadcast();
        return;
      case 'kiroku:gather':
        this.gather(worker, message.id, message.topic);
        return;
      case 'kiroku:gathered':
        this.gathered(worker, message.id, message.data);
        return;
    }
  }

  private configure(message: ConfiguredMessage): void {
    this.configured = message;
    if (message.sqlitePath) {
      this.lock = new SqliteFileLock(message.sqlitePath);
      if (!this.lock.tryAcquire()) {
        this.log('warn', `another machine serves ${message.sqlitePath}: this one stays not ready, and retries every ${this.options.lockRetryMs} ms`);
        this.lockRetry = setInterval(() => {
          if (!this.lock!.tryAcquire()) return;
          clearInterval(this.lockRetry);
          this.log('info', `took over ${message.sqlitePath}: the other machine stopped`);
          this.broadcast();
        }, this.options.lockRetryMs);
      }
    }
    for (let i = 1; i < message.workers; i++) this.fork(i);
    this.broadcast();
  }

  private listening(worker: Worker): void {
    const slot = this.slotOf(worker);
    if (!slot) return;
    slot.listening = true;
    if (!this.started && this.configured && this.slots.length === this.configured.workers && this.slots.every((s) => s.listening)) {
      this.started = true;
      this.log('info', `all ${this.configured.workers} workers are serving`);
    }
    this.broadcast();
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    slot.listening = false;
    for (const [id, g] of this.gatherings) if (g.waiting.delete(worker.id) && g.waiting.size === 0) this.finishGather(id);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.stopping) {
      if (code !== 0) {
        this.stopFailed = true;
        this.log('warn', `worker ${slot.index} (pid ${worker.process.pid}) ${how} while stopping`);
      }
      if (this.slots.every((s) => !s.worker)) this.finish();
      return;
    }
    if (!this.started) {
      // Before the machine ever served, a death is a start-up failure: it would only repeat.
      this.log('error', `worker ${slot.index} (pid ${worker.process.pid}) ${how} during start-up: stopping`);
      process.exitCode = code || 1;
      this.stop(null);
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.crashes = lived >= this.options.stableAfterMs ? 1 : slot.crashes + 1;
    const delay = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (slot.crashes - 1));
    this.log('error', `worker ${slot.index} (pid ${worker.process.pid}) ${how} after ${Math.round(lived / 1000)} s: restarting it in ${delay} ms`);
    this.broadcast();
    slot.restart = setTimeout(() => this.fork(slot.index), delay);
  }

  /** SIGTERM/SIGINT (signal), or a start-up failure (null): every worker drains, then the primary exits. */
  stop(signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.lockRetry);
    for (const slot of this.slots) clearTimeout(slot.restart);
    const live = this.slots.filter((s) => s.worker);
    if (signal) this.log('info', `${signal} received: draining ${live.length} worker(s)`);
    if (live.length === 0) return this.finish();
    for (const slot of live) slot.worker!.process.kill('SIGTERM');
    // A worker cuts its requests after SHUTDOWN_GRACE_PERIOD; one that is still there well after is stuck.
    const deadline = (this.configured?.graceMs ?? 10_000) + 15_000;
    setTimeout(() => {
      for (const slot of this.slots) {
        if (!slot.worker) continue;
        this.log('error', `worker ${slot.index} (pid ${slot.worker.process.pid}) did not stop within ${deadline} ms: killing it`);
        this.stopFailed = true;
        slot.worker.process.kill('SIGKILL');
      }
    }, deadline).unref();
  }

  private finish(): void {
    this.lock?.release();
    if (this.stopFailed && !process.exitCode) process.exitCode = 1;
    this.options.fallbackLog(
      JSON.stringify({ level: 'info', time: new Date().toISOString(), context: 'Primary', msg: `stopped (exit code ${Number(process.exitCode ?? 0)})` }),
    );
    process.exit();
  }

  private gather(asker: Worker, id: string, topic: string): void {
    const live = this.slots.filter((s) => s.worker && s.listening).map((s) => s.worker!);
    if (!live.includes(asker)) live.push(asker);
    const timer = setTimeout(() => this.finishGather(id), GATHER_TIMEOUT_MS);
    this.gatherings.set(id, { asker, waiting: new Set(live.map((w) => w.id)), results: [], timer });
    for (const worker of live) this.sendTo(worker, { type: 'kiroku:gather-request', id, topic });
  }

  private gathered(worker: Worker, id: string, data: unknown): void {
    const g = this.gatherings.get(id);
    if (!g || !g.waiting.delete(worker.id)) return;
    if (data !== null && data !== undefined) g.results.push(data);
    if (g.waiting.size === 0) this.finishGather(id);
  }

  private finishGather(id: string): void {
    const g = this.gatherings.get(id);
    if (!g) return;
    clearTimeout(g.timer);
    this.gatherings.delete(id);
    this.sendTo(g.asker, { type: 'kiroku:gather-result', id, results: g.results });
  }

  private broadcast(): void {
    const state = this.state();
    for (const slot of this.slots) if (slot.worker) this.sendTo(slot.worker, { type: 'kiroku:state', state });
  }

  /** The primary's lines go through a serving worker's logger (files, format, retention); stderr when none serves. */
  private log(level: 'info' | 'warn' | 'error', message: string): void {
    const via = this.slots.find((s) => s.worker && s.listening)?.worker;
    if (via && this.sendTo(via, { type: 'kiroku:log', level, message })) return;
    this.options.fallbackLog(JSON.stringify({ level, time: new Date().toISOString(), context: 'Primary', msg: message }));
  }

  private sendTo(worker: Worker, message: PrimaryMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      worker.send(message);
      return true;
    } catch {
      return false;
    }
  }

  private slotOf(worker: Worker): Slot | undefined {
    return this.slots.find((s) => s.worker === worker);
  }
}
