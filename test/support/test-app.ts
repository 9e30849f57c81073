import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Clock } from '@kiroku/clock';
import { KirokuConfig, loadConfig } from '@kiroku/config';
import type { Logger } from 'pino';
import { Writable } from 'node:stream';
import { recordLogLines } from './log-scan';
import { AppModule } from '../../src/app.module';
import { createRootLogger, PinoLoggerService } from '../../src/modules/logs';
import { configureApp, createHttpAdapter } from '../../src/server';

/** The settings tests start from: NODE_ENV=test plus the given overrides. */
export function testConfig(overrides: Record<string, string | undefined> = {}): KirokuConfig {
  return loadConfig({ env: { NODE_ENV: 'test', ...overrides } });
}

/** Log lines an app wrote during a test, parsed. */
export class CapturedLogs extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    recordLogLines(chunk.toString('utf8'));
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
    done();
    this.emit('lines');
  }

  /** The first line that matches, waiting for it (lines such as the access log's are written after the response). */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (!found) return;
        clearTimeout(timer);
        this.off('lines', check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.off('lines', check);
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('lines', check);
      check();
    });
  }
}

export interface TestApp {
  app: NestExpressApplication;
  config: KirokuConfig;
  url: string;
  logs: CapturedLogs;
  logger: Logger;
  close(): Promise<void>;
}

export interface TestAppOptions {
  clock?: Clock;
  instanceId?: string;
  /** Listen on this port (when PUBLIC_URL must name it); a free one otherwise. */
  port?: number;
  /** Extra modules (e.g. a test-only controller). */
  imports?: Array<NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>[number]>;
}

/** Boots the real AppModule against the configured database and listens on a free port. */
export async function startTestApp(overrides: Record<string, string | undefined>, options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const logs = new CapturedLogs();
  const instanceId = options.instanceId ?? `test-${Math.random().toString(16).slice(2, 10)}`;
  // The production logger, writing to memory: what a test reads is what an operator would see.
  const logger = createRootLogger({ ...config.log, level: 'debug', format: 'json' }, instanceId, logs);
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot({ config, instanceId }), ...(options.imports ?? [])] });
  if (options.clock) builder = builder.overrideProvider(Clock).useValue(options.clock);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>(createHttpAdapter(), {
    logger: new PinoLoggerService(logger),
    abortOnError: false,
    bodyParser: false,
  });
  configureApp(app, config, logger);
  await app.listen(options.port ?? 0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closed = false;
  return {
    app,
    config,
    logs,
    logger,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
