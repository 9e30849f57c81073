import { Logger } from '@nestjs/common';
import pino from 'pino';
import { Writable } from 'node:stream';
import { PinoLoggerService } from './pino-logger.service';
import { requestContext } from './request-context';
import { createRootLogger } from './root-logger';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, stream };
}

describe('logging baseline', () => {
  it('writes JSON lines with UTC time, level name, instance and the request id of the request being served', () => {
    const { lines, stream } = capture();
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'inst-1', stream);
    requestContext.run({ requestId: 'req-123456789' }, () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ level: 'info', instance: 'inst-1', reqId: 'req-123456789', msg: 'inside', time: expect.stringMatching(/Z$/) });
    expect(lines[1]).not.toHaveProperty('reqId');
  });

  it('redacts credentials wherever a caller puts them', () => {
    const { lines, stream } = capture();
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', stream);
    logger.info({ password: 'hunter2', req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1' } } }, 'login');
    const line = JSON.stringify(lines[0]);
    expect(line).not.toMatch(/hunter2|Bearer abc|sid=1/);
  });

  it('keeps the bound values of a failed query out of the log', () => {
    const { lines, stream } = capture();
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', stream);
    const err = Object.assign(new Error('insert failed'), {
      query: 'INSERT INTO "sessions" VALUES ($1, $2)',
      parameters: ['hash-of-cookie', 'csrf-token-value'],
    });
    logger.error({ err }, 'unexpected error');
    const line = JSON.stringify(lines[0]);
    expect(line).not.toMatch(/hash-of-cookie|csrf-token-value/);
    expect(line).toContain('INSERT INTO');
  });

  it('maps Nest log calls to pino levels with their context and stack', () => {
    const { lines, stream } = capture();
    const service = new PinoLoggerService(pino({ level: 'trace', base: undefined }, stream));
    service.log('started', 'Main');
    service.error('failed', 'Error: x\n    at foo (file.ts:1:1)', 'Worker');
    service.warn({ disk: 0.95 }, 'Disk');
    service.error(new Error('boom'));
    expect(lines[0]).toMatchObject({ level: 30, msg: 'started', context: 'Main' });
    expect(lines[1]).toMatchObject({ level: 50, msg: 'failed', context: 'Worker', stack: expect.stringContaining('at foo') });
    expect(lines[2]).toMatchObject({ level: 40, disk: 0.95, context: 'Disk' });
    expect(lines[3]).toMatchObject({ level: 50, msg: 'boom', err: expect.objectContaining({ message: 'boom' }) });
  });

  it('is what `new Logger(context)` writes through once installed', () => {
    const { lines, stream } = capture();
    Logger.overrideLogger(new PinoLoggerService(pino({ base: undefined }, stream)));
    new Logger('Feature').log('hello');
    Logger.overrideLogger(false);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'hello', context: 'Feature' }));
  });

  it("keeps the words written after the fields as the message, not the error's own", () => {
    const { lines, stream } = capture();
    Logger.overrideLogger(new PinoLoggerService(pino({ base: undefined }, stream)));
    new Logger('Errors').error({ err: new Error('database is locked'), status: 503 }, 'request failed: database busy');
    new Logger('Disk').warn({ disk: 0.95 }, 'disk nearly full');
    Logger.overrideLogger(false);
    expect(lines[0]).toMatchObject({
      level: 50,
      msg: 'request failed: database busy',
      context: 'Errors',
      status: 503,
      err: expect.objectContaining({ message: 'database is locked' }),
    });
    expect(lines[1]).toMatchObject({ level: 40, msg: 'disk nearly full', context: 'Disk', disk: 0.95 });
  });
});
