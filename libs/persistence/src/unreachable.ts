/**
 * Whether an error means that the database could not be reached, rather than that a statement was wrong: the
 * server refused or dropped the connection, is shutting down or starting, or the pool could not get a
 * connection in time. Requests that fail this way are answered 503 (try again), like those refused earlier for
 * the same reason, not 500 (a fault to investigate).
 */
export function databaseUnreachable(error: unknown): boolean {
  for (let e = error as Failure | undefined, depth = 0; e && depth < 4; e = e.driverError ?? e.cause, depth++) {
    if (typeof e.code === 'string' && (NODE_CODES.has(e.code) || PG_UNREACHABLE.test(e.code))) return true;
    if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  }
  return false;
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
