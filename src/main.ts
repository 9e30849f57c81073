import cluster from 'node:cluster';
import { newInstanceId, Primary, WorkerLink } from '@kiroku/supervisor';

/**
 * `node dist/src/main.js`: a primary that forks WEB_CONCURRENCY workers (see
 * Primary), or, with WEB_CONCURRENCY=1 in the environment, one process that
 * serves by itself. The primary loads nothing of the application: workers
 * import it (./serve) when they start.
 */
if (cluster.isPrimary && process.env.WEB_CONCURRENCY?.trim() !== '1') {
  new Primary({ instanceId: newInstanceId() }).start();
} else {
  // A worker listens to its primary before loading the application, so that no word of the primary is missed.
  WorkerLink.connected();
  void import('./serve.js').then(({ serve }) => serve());
}
