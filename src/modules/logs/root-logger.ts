import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';
import { LogConfig } from '@kiroku/config';
import { requestContext } from './request-context';

/**
 * Field paths never written, whatever logs them. The logs issue widens this
 * to every stream; the baseline keeps credentials out of request logs.
 */
export const REDACTED_PATHS = [
  'password', '*.password', 'currentPassword', 'newPassword', 'token', '*.token', 'secret', '*.secret',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie',
  // A failed query carries its bound values: session hashes, password hashes, CSRF tokens.
  'err.parameters', 'err.driverError.parameters', 'err.cause.parameters',
];

/**
 * The process's one pino logger: JSON lines on stdout with UTC ISO time,
 * level name, instance id and (inside a request) the request id.
 */
export function createRootLogger(config: LogConfig, instanceId: string, destination?: DestinationStream): Logger {
  const stream = destination ?? (config.format === 'pretty'
    ? pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,instance', singleLine: true, sync: true })
    : pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level: config.level,
      base: { instance: instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => {
        const ctx = requestContext.getStore();
        return ctx ? { reqId: ctx.requestId } : {};
      },
    },
    stream,
  );
}
