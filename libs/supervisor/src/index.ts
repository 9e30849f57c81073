export { newInstanceId } from './instance-id';
export { Machine, SingleProcess, WorkerLink } from './machine';
export { type MachineState, WORKER_SLOT_ENV } from './messages';
export { Primary, type PrimaryOptions } from './primary';
export { SqliteFileLock } from './sqlite-file-lock';
