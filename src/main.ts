import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { newInstanceId } from '@kiroku/config';
import { preflight, reportStartupError } from './preflight';
import { endLogFiles } from './modules/logs';
import { createServer, drainAndClose } from './server';

async function main(): Promise<void> {
  const config = preflight();
  const instanceId = newInstanceId();
  const app = await createServer({ config, instanceId });
  const logger = new Logger('Main');

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
  logger.log(`Kiroku ready on ${config.app.publicUrl} (listening on ${config.app.host}:${config.app.port}, ${config.database.engine}, instance ${instanceId})`);
}

main().catch((error) => {
  process.exitCode = reportStartupError(error);
  // Database pools and timers may still hold the loop open.
  setTimeout(() => process.exit(), 100).unref();
});
