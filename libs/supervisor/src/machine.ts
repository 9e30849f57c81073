import { randomBytes } from 'node:crypto';
import { ConfiguredMessage, INSTANCE_ID_ENV, isMessage, MachineState, PrimaryMessage, WORKER_SLOT_ENV, WorkerMessage } from './messages';
import { SqliteFileLock } from './sqlite-file-lock';

type Answer = () => unknown;
type LogSink = (level: 'info' | 'warn' | 'error', message: string) => void;

/** How long a gather waits for the other workers' answers before going on with those it has. */
const GATHER_TIMEOUT_MS = 2000;

/**
 * The machine this process serves on: one process (WEB_CONCURRENCY=1), or one
 * worker of a primary that forked several. What is one per machine (the
 * SQLite file lock, migrations, the registry row, the history sample, the
 * checkpointer) is done by the leader, worker 0; what a scrape or a sample
 * must see of every worker is gathered from all of them.
 */
export abstract class Machine {
  /** This process's place among the machine's workers; 0 is the leader (and the only one when single). */
  abstract readonly slot: number;
  /** The machine's identity in lease, registry and sample rows: shared by its workers. */
  abstract readonly instanceId: string;

  get leader(): boolean {
    return this.slot === 0;
  }

  /** The process to signal to stop the machine: the primary's, or this one's when it serves alone. */
  abstract readonly pid: number;

  /** Whether this machine may serve its SQLite file (true on PostgreSQL). */
  abstract servesDatabase(): boolean;

  abstract state(): MachineState;

  /** Resolves once the machine's state is known (a worker has heard from its primary); at once for a single process. */
  abstract whenKnown(): Promise<void>;

  /** Resolves once the leader has done the once-per-start work; at once for the leader itself. */
  abstract whenPrepared(): Promise<void>;

  /** The leader says its once-per-start work is done. */
  abstract prepared(): void;

  /** What this process answers when a worker gathers `topic`. */
  abstract answer(topic: string, answer: Answer): void;

  /** Every live worker's answer to `topic` (this one's included); workers that do not answer in time are left out. */
  abstract gather<T>(topic: string): Promise<T[]>;

  /** Where the primary's log lines go (the worker's logger); single processes have none. */
  abstract onPrimaryLog(sink: LogSink): void;

  /** Lets go of what the machine holds (the SQLite lock) at the end of a single process. */
  abstract release(): void;

  /** The link to the primary when this process is a worker, else a machine of one process. */
  static current(sqlitePath: string | null, instanceId: () => string): Machine {
    return WorkerLink.connected() ?? new SingleProcess(sqlitePath, instanceId());
  }
}

/** WEB_CONCURRENCY=1: this process is the whole machine and holds the SQLite lock itself. */
export class SingleProcess extends Machine {
  readonly slot = 0;
  readonly pid = process.pid;
  private readonly lock?: SqliteFileLock;
  private readonly answers = new Map<string, Answer>();
  private wasPrepared = false;

  constructor(
    sqlitePath: string | null,
    readonly instanceId: string,
  ) {
    super();
    if (sqlitePath) this.lock = new SqliteFileLock(sqlitePath);
  }

  /** Takes the lock when it is free (the previous holder may have stopped since the last call). */
  servesDatabase(): boolean {
    return this.lock ? this.lock.tryAcquire() : true;
  }

  state(): MachineState {
    return { up: 1, of: 1, started: true, servesDatabase: this.lock?.held ?? true, prepared: this.wasPrepared };
  }

  whenKnown(): Promise<void> {
    return Promise.resolve();
  }

  whenPrepared(): Promise<void> {
    return Promise.resolve();
  }

  prepared(): void {
    this.wasPrepared = true;
  }

  answer(topic: string, answer: Answer): void {
    this.answers.set(topic, answer);
  }

  async gather<T>(topic: string): Promise<T[]> {
    const answer = this.answers.get(topic);
    return answer ? [(await answer()) as T] : [];
  }

  onPrimaryLog(): void {}

  release(): void {
    this.lock?.release();
  }
}

let link: WorkerLink | undefined;

/** A worker's side of the IPC channel to its primary. */
export class WorkerLink extends Machine {
  private current: MachineState = { up: 0, of: 0, started: false, servesDatabase: false, prepared: false };
  private readonly answers = new Map<string, Answer>();
  private readonly pending = new Map<string, (results: unknown[]) => void>();
  private readonly stateListeners: Array<(state: MachineState) => void> = [];
  private sink?: LogSink;
  readonly pid = process.ppid;

  private constructor(
    readonly slot: number,
    readonly instanceId: string,
  ) {
    super();
    process.title = `kiroku worker ${slot}`;
    process.on('message', (message: unknown) => {
      if (isMessage<PrimaryMessage>(message)) this.receive(message);
    });
    // The channel must not keep a worker alive once its server has closed.
    process.channel?.unref();
    // Messages sent before this listener existed were lost: the primary answers with the machine's state.
    this.send({ type: 'kiroku:hello' });
  }

  /** This worker's link, when the process was forked by a Kiroku primary; null otherwise. Listens from the first call. */
  static connected(env: NodeJS.ProcessEnv = process.env): WorkerLink | null {
    if (link) return link;
    const slot = env[WORKER_SLOT_ENV];
    const id = env[INSTANCE_ID_ENV];
    if (slot === undefined || !id || !process.send) return null;
    link = new WorkerLink(Number(slot), id);
    return link;
  }

  /** Worker 0 tells the primary the validated settings it needs (how many workers, which file to lock). */
  configured(info: Omit<ConfiguredMessage, 'type'>): void {
    this.send({ type: 'kiroku:configured', ...info });
  }

  servesDatabase(): boolean {
    return this.current.servesDatabase;
  }

  state(): MachineState {
    return this.current;
  }

  /** Resolves when the primary's state first satisfies `test`. */
  private when(test: (state: MachineState) => boolean): Promise<void> {
    if (test(this.current)) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (state: MachineState) => {
        if (!test(state)) return;
        this.stateListeners.splice(this.stateListeners.indexOf(listener), 1);
        resolve();
      };
      this.stateListeners.push(listener);
    });
  }

  /** The primary's first word on the machine (it knows then whether it holds the SQLite lock). */
  whenKnown(): Promise<void> {
    return this.when((s) => s.of > 0);
  }

  whenPrepared(): Promise<void> {
    return this.when((s) => s.prepared);
  }

  prepared(): void {
    this.send({ type: 'kiroku:prepared' });
  }

  answer(topic: string, answer: Answer): void {
    this.answers.set(topic, answer);
  }

  gather<T>(topic: string): Promise<T[]> {
    const id = randomBytes(8).toString('hex');
    return new Promise<T[]>((resolve) => {
      // The primary answers within its own timeout; this one only guards against a primary that is gone.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve([]);
      }, GATHER_TIMEOUT_MS * 2);
      this.pending.set(id, (results) => {
        clearTimeout(timer);
        resolve(results as T[]);
      });
      this.send({ type: 'kiroku:gather', id, topic });
    });
  }

  onPrimaryLog(sink: LogSink): void {
    this.sink = sink;
  }

  release(): void {}

  private receive(message: PrimaryMessage): void {
    switch (message.type) {
      case 'kiroku:state':
        this.current = message.state;
        for (const listener of [...this.stateListeners]) listener(message.state);
        return;
      case 'kiroku:gather-request':
        void this.reply(message.id, message.topic);
        return;
      case 'kiroku:gather-result':
        this.pending.get(message.id)?.(message.results);
        this.pending.delete(message.id);
        return;
      case 'kiroku:log':
        if (this.sink) this.sink(message.level, message.message);
        else process.stderr.write(`kiroku primary: ${message.message}\n`);
        return;
    }
  }

  private async reply(id: string, topic: string): Promise<void> {
    const answer = this.answers.get(topic);
    let data: unknown;
    try {
      data = answer ? await answer() : null;
    } catch {
      data = null; // a worker that cannot answer is left out, as one that does not answer in time
    }
    this.send({ type: 'kiroku:gathered', id, data });
  }

  private send(message: WorkerMessage): void {
    if (process.connected) process.send!(message);
  }
}

export { GATHER_TIMEOUT_MS };
