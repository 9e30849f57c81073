import { sqliteBusy } from './sqlite-begin';

/**
 * Whether an error means that the database could not be reached, rather than that a statement was wrong: the
 * server refused or dropped the connection, is shutting down or starting, or the pool could not get a
 * connection in time. Requests that fail this way are answered 503 (try again), like those refused earlier for
 * the same reason, not 500 (a fault to investigate).
 */
export function databaseUnreachable(error: unknown): boolean {
  return causes(error).some(
    (e) =>
      (typeof e.code === 'string' && (NODE_CODES.has(e.code) || PG_UNREACHABLE.test(e.code))) || (typeof e.message === 'string' && MESSAGES.test(e.message)),
  );
}

/**
 * Whether an error means that a write waited for a lock longer than it may: SQLite's write lock, which another
 * worker held past `DATABASE_BUSY_TIMEOUT` (SQLITE_BUSY and its extended codes), or PostgreSQL's lock_timeout
 * (55P03). Nothing of the write was kept; the same request may succeed a moment later, so it is answered 503
 * with Retry-After, not 500.
 */
export function databaseBusy(error: unknown): boolean {
  return causes(error).some((e) => sqliteBusy(e) || e.code === '55P03');
}

/** The error and what it wraps (TypeORM's driverError, an Error's cause), a few levels down. */
function causes(error: unknown): Failure[] {
  const found: Failure[] = [];
  for (let e = error as Failure | undefined, depth = 0; e && depth < 4; e = e.driverError ?? e.cause, depth++) found.push(e);
  return found;
}

interface Failure {
  code?: unknown;
  message?: unknown;
  driverError?: Failure;
  cause?: Failure;
}

/** Socket errors of node:net, as node-postgres passes them on. */
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * SQLSTATE class 08 (connection exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now) and
 * 53300 (too many connections).
 */
const PG_UNREACHABLE = /^(08...|57P0[1-3]|53300)$/;
/** node-postgres's own messages for a connection it lost or could not get. */
const MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;
