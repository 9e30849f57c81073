import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { newInstanceId, Primary, WorkerLink } from '@kiroku/supervisor';

/**
 * `node dist/src/main.js`: a primary that forks WEB_CONCURRENCY workers (see
 * Primary), or, with WEB_CONCURRENCY=1 in the environment, one process that
 * serves by itself. The primary loads nothing of the application.
 */
if (cluster.isPrimary && process.env.WEB_CONCURRENCY?.trim() !== '1') {
  new Primary({ instanceId: newInstanceId() }).start();
} else {
  // A worker listens to its primary before anything else, so that no word of the primary is missed.
  void start(WorkerLink.connected());
}

/**
 * Settings first, with only the configuration loaded: worker 0 tells the
 * primary at once what it needs, so the other workers start while this one
 * loads the application.
 */
async function start(link: WorkerLink | null): Promise<void> {
  const { developmentBackupKey, preflight, reportStartupError } = await import('./preflight.js');
  let config;
  try {
    config = preflight();
  } catch (error) {
    process.exitCode = reportStartupError(error);
    return;
  }
  // Before the other workers start: they read the key this makes (development only, with no key set).
  if (!link || link.leader) await developmentBackupKey(config);
  const sqlitePath = config.database.engine === 'sqlite' ? resolve(config.database.path) : null;
  if (link?.leader) link.configured({ workers: config.app.webConcurrency, sqlitePath, graceMs: config.app.shutdownGraceMs });
  const { serve } = await import('./serve.js');
  await serve(config, sqlitePath);
}
