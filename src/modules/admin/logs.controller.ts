import { Controller, Get, Query } from '@nestjs/common';
import { LogConfig } from '@kiroku/config';
import { LogQuery, searchLogs } from '../logs';
import { AdminOnly, Page, Pages } from '../web';

const STREAMS = ['access', 'app', 'error', 'security'] as const;
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/** A field of a log line as text: strings as they are, anything else (numbers, in lines the logger wrote) as JSON writes it. */
const shown = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));

/** /admin/logs: recent entries of this machine's daily log files, filtered; a request id followed across streams. */
@Controller('admin/logs')
@Pages()
@AdminOnly()
export class LogsController {
  constructor(private readonly config: LogConfig) {}

  @Get()
  async index(@Query() raw: Record<string, unknown>): Promise<Page> {
    const text = (name: string) => (typeof raw[name] === 'string' ? raw[name].trim() : '');
    const form = {
      stream: text('stream'),
      level: text('level'),
      from: text('from'),
      to: text('to'),
      reqId: text('reqId'),
      userId: text('userId'),
      status: text('status'),
    };
    const query: LogQuery = {};
    if ((STREAMS as readonly string[]).includes(form.stream)) query.stream = form.stream as LogQuery['stream'];
    if ((LEVELS as readonly string[]).includes(form.level)) query.level = form.level as LogQuery['level'];
    const instant = (v: string) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v) && !Number.isNaN(Date.parse(`${v}:00Z`)) ? new Date(`${v}:00Z`) : undefined);
    query.from = instant(form.from);
    query.to = instant(form.to);
    if (/^[A-Za-z0-9._:-]{1,64}$/.test(form.reqId)) query.reqId = form.reqId;
    if (/^[0-9a-f-]{36}$/.test(form.userId)) query.userId = form.userId;
    if (/^[1-5]\d\d$/.test(form.status)) query.status = Number(form.status);
    const result = this.config.dir ? await searchLogs(this.config.dir, query) : null;
    const entries = result?.entries.map((e) => ({
      ...e,
      summary: e.stream === 'access' ? `${shown(e.method)} ${shown(e.path)} → ${shown(e.status)} (${shown(e.durationMs)} ms)` : shown(e.msg ?? e.event ?? ''),
      extra: JSON.stringify(
        Object.fromEntries(
          Object.entries(e).filter(
            ([k]) => !['time', 'level', 'stream', 'instance', 'reqId', 'msg', 'method', 'path', 'status', 'durationMs', 'route'].includes(k),
          ),
        ),
      ),
    }));
    return new Page('admin/logs', {
      title: 'admin.logs.title',
      width: 'wide',
      enabled: !!this.config.dir,
      entries: entries ?? [],
      truncated: result?.truncated ?? false,
      form,
      streams: STREAMS,
      levels: LEVELS,
    });
  }
}
