import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_FILE } from './daily-files';

export interface LogQuery {
  stream?: 'access' | 'app' | 'error' | 'security';
  /** The lowest level shown. */
  level?: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  from?: Date;
  to?: Date;
  reqId?: string;
  userId?: string;
  status?: number;
}

export type LogEntry = Record<string, unknown> & { time: string; level: string; stream: string };

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** How much of each daily file (its end) a search reads: bounded work for a page view. */
const TAIL_BYTES = 16 * 1024 * 1024;

/**
 * Recent entries of the daily files under LOG_DIR matching a query, newest
 * first: the uncompressed files (today's and any not yet swept), the newest
 * day first, at most `limit` entries and TAIL_BYTES read from each file.
 * A request id is followed across every stream.
 */
export async function searchLogs(dir: string, query: LogQuery, limit = 200): Promise<{ entries: LogEntry[]; truncated: boolean }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => LOG_FILE.test(n) && !n.endsWith('.gz'));
  // app- files hold every non-access line (errors included); error- files would only repeat them.
  const wanted = names.filter((n) => (query.stream === 'access' ? n.startsWith('access-') : query.stream ? n.startsWith('app-') : !n.startsWith('error-')));
  const byDay = wanted.sort((a, b) => (LOG_FILE.exec(b)![2] + b).localeCompare(LOG_FILE.exec(a)![2] + a));
  const minLevel = query.level ? LEVELS.indexOf(query.level) : 0;
  const entries: LogEntry[] = [];
  let truncated = false;
  for (const name of byDay) {
    const { lines, cut } = await tail(join(dir, name));
    truncated ||= cut;
    for (const line of lines) {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        continue; // a line cut by the tail window
      }
      if (query.stream && entry.stream !== query.stream) continue;
      if (LEVELS.indexOf(entry.level) < minLevel) continue;
      if (query.reqId && entry.reqId !== query.reqId) continue;
      if (query.userId && entry.userId !== query.userId) continue;
      if (query.status !== undefined && entry.status !== query.status) continue;
      const at = Date.parse(entry.time);
      if ((query.from && at < query.from.getTime()) || (query.to && at > query.to.getTime())) continue;
      entries.push(entry);
    }
  }
  entries.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  return { entries: entries.slice(0, limit), truncated: truncated || entries.length > limit };
}

async function tail(path: string): Promise<{ lines: string[]; cut: boolean }> {
  const { size } = await stat(path);
  const start = Math.max(0, size - TAIL_BYTES);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n').filter(Boolean);
    if (start > 0) lines.shift();
    return { lines, cut: start > 0 };
  } finally {
    await handle.close();
  }
}
