import { LoggerService, LogLevel } from '@nestjs/common';
import type { Logger } from 'pino';

/** Start-up chatter from the framework: one line per module and route, useful only when debugging. */
const FRAMEWORK_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** Nest's logger interface over pino, so framework and `new Logger(…)` lines are JSON too. */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from LOG_LEVEL only.
  }

  /**
   * Nest calls error(message, stack, context) and others (message, context);
   * the last string argument is the context. Fields first, as pino takes them
   * (`{ err, status }, 'words'`), keep their words as the message.
   */
  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: unknown, rest: unknown[]): void {
    const args = [...rest];
    const isStack = (v: unknown) => typeof v === 'string' && v.includes('\n    at ');
    const last = args[args.length - 1];
    const context = typeof last === 'string' && !isStack(last) ? (args.pop() as string) : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (level === 'info' && context && FRAMEWORK_CHATTER.has(context)) level = 'debug';
    if (level === 'error' && isStack(args[0])) fields.stack = args.shift();
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      // `logger.error({ err, status }, 'request failed')`: the words after the fields are the line's message (pino
      // would otherwise take the error's own).
      const words = typeof args[0] === 'string' ? (args.shift() as string) : undefined;
      if (words === undefined) this.logger[level]({ ...fields, ...message });
      else this.logger[level]({ ...fields, ...message }, words);
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
