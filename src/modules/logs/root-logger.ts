import pino, { DestinationStream, Logger } from 'pino';
import type Pretty from 'pino-pretty';
import { LogConfig } from '@kiroku/config';
import { DailyLogFiles, tee } from './daily-files';
import { redactSecrets } from './redact';
import { requestContext } from './request-context';

/** Daily files opened by this process, flushed synchronously at exit. */
const openFiles = new Set<DailyLogFiles>();
let exitHooked = false;

/** Best effort at process exit: writes what is still buffered, synchronously (a write already in flight is the OS's). */
export function flushLogFiles(): void {
  for (const files of openFiles) files.flushSync();
}

/** For a graceful stop: resolves once every line handed to the daily files is written and the files are closed. */
export async function endLogFiles(): Promise<void> {
  const all = [...openFiles];
  openFiles.clear();
  await Promise.all(all.map((files) => files.end()));
}

/** Readable lines for a terminal; pino-pretty is loaded only where LOG_FORMAT=pretty asks for it (~20 ms at every start-up otherwise). */
function prettyStream(): DestinationStream {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const pretty = require('pino-pretty') as typeof Pretty;
  return pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,instance', singleLine: true, sync: true });
}

/**
 * The process's one pino logger: JSON lines with UTC ISO time, level name,
 * instance id, stream (`access`, `app`, `error`, `security`) and, inside a
 * request, the request id; on stdout, and with LOG_DIR also in daily files.
 */
export function createRootLogger(
  config: Pick<LogConfig, 'level' | 'format' | 'dir'>,
  instanceId: string,
  destination?: DestinationStream,
  worker?: number,
): Logger {
  const console = destination ?? (config.format === 'pretty' ? prettyStream() : pino.destination({ dest: 1, sync: false }));
  let stream = console;
  if (config.dir) {
    const files = new DailyLogFiles(config.dir);
    openFiles.add(files);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', flushLogFiles);
    }
    stream = tee(console, files);
  }
  return pino(
    {
      level: config.level,
      base: worker === undefined ? { instance: instanceId } : { instance: instanceId, worker },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: (line) => redactSecrets(line) },
      // Lines name their stream; unmarked ones are the application's, or its errors.
      mixin: (line: object, level: number) => {
        const ctx = requestContext.getStore();
        const stream = 'stream' in line ? {} : { stream: level >= 50 ? 'error' : 'app' };
        return ctx ? { ...stream, reqId: ctx.requestId } : stream;
      },
    },
    stream,
  );
}
