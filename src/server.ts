import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { KirokuConfig } from '@kiroku/config';
import { Machine, WorkerLink } from '@kiroku/supervisor';
import type { NextFunction, Request, Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import { AppModule } from './app.module';
import { Lifecycle } from './modules/cluster';
import { accessLog, createRootLogger, PinoLoggerService } from './modules/logs';
import { MetricsService } from './modules/metrics';
import { configureWeb } from './modules/web';
import { ApiDocs } from './modules/api-docs';
import { KirokuExpressAdapter } from './http-adapter';
import { Connections } from './connections';

export interface ServerOptions {
  config: KirokuConfig;
  instanceId: string;
  /** The machine this process serves on (see CoreOptions). */
  machine?: Machine;
  /** The pino logger; built from LOG_* settings when absent. */
  logger?: PinoLogger;
}

/**
 * The Express instance under Nest, with the settings that must exist before
 * any route does: "/API/v1" must not reach the API while dodging the checks
 * written for "/api/".
 */
export function createHttpAdapter(): ExpressAdapter {
  return new KirokuExpressAdapter();
}

/** Express settings and middleware every instance runs with; tests apply the same to their app. */
export function configureApp(app: NestExpressApplication, config: KirokuConfig, logger: PinoLogger): void {
  app.disable('x-powered-by');
  // Exact hops or ranges only: X-Forwarded-* from anyone else is ignored.
  const trust = config.security.trustProxy;
  app.set('trust proxy', trust ? (/^\d+$/.test(trust[0]) ? Number(trust[0]) : trust) : false);
  const metrics = app.get(MetricsService);
  app.use(accessLog(logger, config.metrics.enabled ? (method, route, status, seconds) => metrics.observe(method, route, status, seconds) : undefined));
  const lifecycle = app.get(Lifecycle);
  // While draining, every response tells its client to reconnect (elsewhere) rather than reuse the connection.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (lifecycle.isDraining) res.setHeader('Connection', 'close');
    next();
  });
  configureWeb(app, config);
  app.get(ApiDocs).describe(app, config.app.publicUrl);
}

export async function createServer({ config, instanceId, machine, logger }: ServerOptions): Promise<NestExpressApplication> {
  const root = logger ?? createRootLogger(config.log, instanceId, undefined, machine instanceof WorkerLink ? machine.slot : undefined);
  // The primary's lines (a worker died, all drained) go to the same files and format as the workers' own.
  const primary = root.child({ context: 'Primary' });
  machine?.onPrimaryLog((level, message) => primary[level](message));
  const tls = config.security.tlsCertFile ? { cert: readFileSync(config.security.tlsCertFile), key: readFileSync(config.security.tlsKeyFile!) } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, instanceId, machine }), createHttpAdapter(), {
    logger: new PinoLoggerService(root),
    abortOnError: false,
    bodyParser: false,
    httpsOptions: tls,
  });
  configureApp(app, config, root);
  // From the first connection on, so that a drain knows which connections are between requests.
  Connections.of(app.getHttpServer());
  return app;
}

/**
 * After SIGTERM the server still accepts for this long (answering with `Connection: close`): a connection the
 * kernel or the primary had already accepted when the signal came is handed to a worker and served, rather than
 * reset when the listener closes.
 */
export const ACCEPT_AFTER_SIGTERM_MS = 250;

/**
 * SIGTERM: fail readiness at once, close keep-alive connections between
 * requests, stop accepting connections (after ACCEPT_AFTER_SIGTERM_MS), let
 * in-flight requests finish within SHUTDOWN_GRACE_PERIOD (then cut what is
 * left), give leases back, close the database. Resolves when everything is
 * closed.
 */
export async function drainAndClose(app: INestApplication<Server>, graceMs: number): Promise<'drained' | 'cut'> {
  const logger = new Logger('Shutdown');
  app.get(Lifecycle).beginDrain();
  const server = app.getHttpServer();
  const connections = Connections.of(server);
  let outcome: 'drained' | 'cut' = 'drained';
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => {
      outcome = 'cut';
      logger.warn(`requests still running after ${graceMs} ms: closing their connections`);
      connections.closeAll();
      server.closeAllConnections();
    }, graceMs);
    // Connections that finish their request close themselves (Connection: close); those between requests, or
    // that never send one, are closed here.
    const sweeper = setInterval(() => connections.closeIdle(), 100);
    connections.closeIdle();
    setTimeout(
      () =>
        server.close(() => {
          clearTimeout(deadline);
          clearInterval(sweeper);
          resolve();
        }),
      Math.min(ACCEPT_AFTER_SIGTERM_MS, graceMs),
    );
  });
  await app.close();
  return outcome;
}
