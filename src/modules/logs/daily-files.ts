import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import SonicBoom from 'sonic-boom';

export type LogStream = 'access' | 'app' | 'error';

/** `access-2026-11-29.log` and its compressed form: the names the sweeper works from. */
export const LOG_FILE = /^(access|app|error)-(\d{4}-\d{2}-\d{2})\.log(\.gz)?$/;

const DAY_MS = 24 * 3_600_000;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Log lines to one file per stream and UTC day under LOG_DIR: access lines to
 * `access-…`, everything else to `app-…`, and errors (level error and fatal)
 * also to `error-…`. Writes are asynchronous (sonic-boom) and append-only; at
 * midnight new files are opened for the next line and the old ones are ended
 * after their buffered lines are written, so rotation loses nothing and never
 * truncates. Nothing here deletes: that is the sweeper's job.
 */
export class DailyLogFiles implements DestinationStream {
  private readonly open = new Map<LogStream, SonicBoom>();
  private day = '';
  private nextDayAt = 0;

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  write(line: string): void {
    const now = this.now();
    if (now >= this.nextDayAt) this.rotate(now);
    // pino writes `"stream":"access"` only from the access logger; user text cannot contain it unescaped.
    this.file(line.includes('"stream":"access"') ? 'access' : 'app').write(line);
    if (line.includes('"level":"error"') || line.includes('"level":"fatal"')) this.file('error').write(line);
  }

  /** Writes what is buffered, synchronously: for shutdown and fatal errors. */
  flushSync(): void {
    for (const file of this.open.values()) {
      try {
        file.flushSync();
      } catch {
        // nothing buffered
      }
    }
  }

  /** Ends every file after its buffered lines are written. */
  async end(): Promise<void> {
    const files = [...this.open.values()];
    this.open.clear();
    await Promise.all(files.map(endFile));
  }

  private rotate(now: number): void {
    const previous = [...this.open.values()];
    this.open.clear();
    for (const file of previous) void endFile(file);
    this.day = utcDay(now);
    this.nextDayAt = Date.parse(`${this.day}T00:00:00.000Z`) + DAY_MS;
  }

  private file(stream: LogStream): SonicBoom {
    let file = this.open.get(stream);
    if (!file) {
      // Opened here, synchronously (once a day per stream): a line written now survives a flush or a crash right after.
      const fd = openSync(join(this.dir, `${stream}-${this.day}.log`), 'a');
      file = new SonicBoom({ fd, sync: false });
      file.on('error', (error: Error) => process.stderr.write(`log file ${stream}: ${error.message}\n`));
      this.open.set(stream, file);
    }
    return file;
  }
}

function endFile(file: SonicBoom): Promise<void> {
  return new Promise((resolve) => {
    file.once('close', () => resolve());
    file.once('error', () => resolve());
    file.end();
  });
}

/** Every line to each destination: stdout for containers and, with LOG_DIR, the daily files. */
export function tee(...destinations: DestinationStream[]): DestinationStream {
  return { write: (line: string) => destinations.forEach((d) => d.write(line)) };
}
