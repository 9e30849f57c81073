import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { KirokuConfig } from '@kiroku/config';
import { Machine, newInstanceId, WorkerLink } from '@kiroku/supervisor';
import { reportStartupError } from './preflight';
import { endLogFiles } from './modules/logs';
import { createServer, drainAndClose } from './server';

/**
 * One serving process, with its settings validated (main.ts): a worker of a
 * primary, or the whole machine (WEB_CONCURRENCY=1). Starts the app, and on
 * SIGTERM drains and exits.
 */
export async function serve(config: KirokuConfig, sqlitePath: string | null): Promise<void> {
  const machine = Machine.current(sqlitePath, newInstanceId);
  try {
    await listen(config, machine);
  } catch (error) {
    process.exitCode = reportStartupError(error);
    // Database pools and timers may still hold the loop open.
    setTimeout(() => process.exit(), 100).unref();
  }
}

async function listen(config: KirokuConfig, machine: Machine): Promise<void> {
  const app = await createServer({ config, instanceId: machine.instanceId, machine });
  const logger = new Logger('Main');
  const worker = machine instanceof WorkerLink ? `, worker ${machine.slot}` : '';

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining (grace ${config.app.shutdownGraceMs} ms)`);
    drainAndClose(app, config.app.shutdownGraceMs)
      .then(async (outcome) => {
        logger.log(`stopped (${outcome})`);
        // Every line reaches its daily file before the process leaves; stdout gets a moment to drain.
        await endLogFiles();
        setTimeout(() => process.exit(0), 50).unref();
      })
      .catch((error: Error) => {
        logger.error(`shutdown failed: ${error.message}`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    await app.listen(config.app.port, config.app.host);
  } catch (error) {
    // E.g. the port is taken: record the stop and close the database before reporting.
    await app.close().catch(() => undefined);
    throw error;
  }
  logger.log(
    `Kiroku ready on ${config.app.publicUrl} (listening on ${config.app.host}:${config.app.port}, ${config.database.engine}, instance ${machine.instanceId}${worker})`,
  );
}
