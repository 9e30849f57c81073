import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DailyLogFiles } from './daily-files';
import { createRootLogger, endLogFiles } from './root-logger';

const dir = () => mkdtempSync(join(tmpdir(), 'kiroku-logs-'));
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('log streams', () => {
  it('marks every line with its stream: access, app, error (any error without one), or what the caller said', () => {
    const out: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (out.push(JSON.parse(c.toString())), done()) });
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', sink);
    logger.info({ stream: 'access', status: 200 }, 'request');
    logger.info('started');
    logger.error({ err: new Error('boom') }, 'failed');
    logger.info({ stream: 'security', event: 'login.failure' });
    expect(out.map((l) => l.stream)).toEqual(['access', 'app', 'error', 'security']);
    expect(out.map((l) => JSON.stringify(l).match(/"stream"/g)!.length)).toEqual([1, 1, 1, 1]);
    expect(out[2].err).toMatchObject({ message: 'boom', stack: expect.stringContaining('Error: boom') });
  });

  it('never writes secrets, at the top of a line or nested', () => {
    const out: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (out.push(c.toString()), done()) });
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', sink);
    logger.info(
      {
        req: { body: { password: 'pw-secret-1', _csrf: 'csrf-secret-2' }, headers: { cookie: 'kiroku_sid=secret-3', authorization: 'Bearer secret-4' } },
        session: { idHash: 'secret-5', csrfToken: 'secret-6' },
        token: 'krk_secret-7',
        config: { backup: { agePassphrase: 'secret-8', azureConnectionString: 'AccountKey=secret-9' } },
        res: { headers: { 'set-cookie': 'kiroku_sid=secret-10' } },
        user: { passwordHash: '$argon2id$secret-11' },
      },
      'everything at once',
    );
    expect(out.join('')).not.toMatch(/secret-\d+/);
    expect(out.join('')).toContain('[redacted]');
  });

  it('escapes user text so that it cannot forge a line or drive a terminal', () => {
    const out: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (out.push(c.toString()), done()) });
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', sink);
    logger.info({ displayName: 'eve\n{"level":"error","stream":"access","msg":"forged"}\u001b[31m' }, 'signed up');
    expect(out).toHaveLength(1);
    expect(out[0].trimEnd().split('\n')).toHaveLength(1);
    expect(out[0]).not.toContain('\u001b');
    expect(out[0]).not.toContain('"stream":"access"');
    expect(JSON.parse(out[0]).displayName).toBe('eve\n{"level":"error","stream":"access","msg":"forged"}\u001b[31m');
  });
});

describe('daily log files', () => {
  it('writes each stream to its own file per UTC day, errors also to the error file, and rotates at midnight without losing a line', async () => {
    const folder = dir();
    let now = Date.parse('2026-11-28T23:59:59.000Z');
    const files = new DailyLogFiles(folder, () => now);
    const logger = createRootLogger({ level: 'info', format: 'json' }, 'i', files);
    let written = 0;
    for (let i = 0; i < 3000; i++) {
      if (i === 1500) now = Date.parse('2026-11-29T00:00:00.000Z');
      logger.info({ stream: i % 2 ? 'access' : undefined, n: i }, 'line');
      written++;
      if (i % 500 === 0) logger.error({ n: i }, 'an error');
    }
    await files.end();
    expect(readdirSync(folder).sort()).toEqual([
      'access-2026-11-28.log',
      'access-2026-11-29.log',
      'app-2026-11-28.log',
      'app-2026-11-29.log',
      'error-2026-11-28.log',
      'error-2026-11-29.log',
    ]);
    const numbers = ['access', 'app'].flatMap((s) =>
      ['28', '29'].flatMap((d) =>
        lines(join(folder, `${s}-2026-11-${d}.log`))
          .filter((l) => l.msg === 'line')
          .map((l) => l.n as number),
      ),
    );
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: written }, (_, i) => i));
    expect(lines(join(folder, 'access-2026-11-28.log')).every((l) => l.stream === 'access' && (l.n as number) < 1500)).toBe(true);
    expect(lines(join(folder, 'error-2026-11-28.log')).map((l) => l.n)).toEqual([0, 500, 1000]);
    expect(lines(join(folder, 'error-2026-11-29.log')).map((l) => l.n)).toEqual([1500, 2000, 2500]);
    expect(
      lines(join(folder, 'app-2026-11-29.log'))
        .filter((l) => l.level === 'error')
        .map((l) => l.n),
    ).toEqual([1500, 2000, 2500]);
  });

  it("appends to the day's file another process already wrote", async () => {
    const folder = dir();
    const now = () => Date.parse('2026-11-29T10:00:00.000Z');
    const first = new DailyLogFiles(folder, now);
    createRootLogger({ level: 'info', format: 'json' }, 'one', first).info('from the first process');
    await first.end();
    const second = new DailyLogFiles(folder, now);
    createRootLogger({ level: 'info', format: 'json' }, 'two', second).info('from the second process');
    await second.end();
    expect(lines(join(folder, 'app-2026-11-29.log')).map((l) => l.instance)).toEqual(['one', 'two']);
  });

  it('is opened by LOG_DIR, and endLogFiles (a graceful stop) writes every line before it resolves', async () => {
    const folder = dir();
    const logger = createRootLogger({ level: 'info', format: 'json', dir: folder }, 'i', new Writable({ write: (_c, _e, done) => done() }));
    logger.info('kept');
    await endLogFiles();
    const [name] = readdirSync(folder);
    expect(name).toMatch(/^app-\d{4}-\d{2}-\d{2}\.log$/);
    expect(lines(join(folder, name)).map((l) => l.msg)).toEqual(['kept']);
  });
});
