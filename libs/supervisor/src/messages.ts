/** What the primary and its workers say to each other over the cluster's IPC channel. */

/** The machine as the primary sees it, sent to every worker whenever it changes. */
export interface MachineState {
  /** Workers listening now. */
  up: number;
  /** Workers the machine runs (WEB_CONCURRENCY). */
  of: number;
  /** Every worker has listened at least once since the machine started: readiness waits for it, once. */
  started: boolean;
  /** The primary holds the SQLite file lock (always true on PostgreSQL). */
  servesDatabase: boolean;
  /** The leader (worker 0) finished the once-per-start work (migrations): the others may start. */
  prepared: boolean;
}

/** Worker 0's settings the primary needs, once they passed validation. */
export interface ConfiguredMessage {
  type: 'kiroku:configured';
  workers: number;
  /** The SQLite file whose lock the primary holds for the machine; null on PostgreSQL. */
  sqlitePath: string | null;
  /** SHUTDOWN_GRACE_PERIOD, so the primary knows how long a drain may take. */
  graceMs: number;
}

export type WorkerMessage =
  | { type: 'kiroku:hello' }
  | ConfiguredMessage
  | { type: 'kiroku:prepared' }
  | { type: 'kiroku:gather'; id: string; topic: string }
  | { type: 'kiroku:gathered'; id: string; data: unknown };

export type PrimaryMessage =
  | { type: 'kiroku:state'; state: MachineState }
  | { type: 'kiroku:gather-request'; id: string; topic: string }
  | { type: 'kiroku:gather-result'; id: string; results: unknown[] }
  | { type: 'kiroku:log'; level: 'info' | 'warn' | 'error'; message: string };

/** The environment the primary gives each worker. */
export const WORKER_SLOT_ENV = 'KIROKU_WORKER_SLOT';
export const INSTANCE_ID_ENV = 'KIROKU_INSTANCE_ID';

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('kiroku:')
  );
}
