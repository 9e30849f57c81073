import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Unique per machine start: the host (the pod name on Kubernetes) and a random suffix. Its workers share it. */
export function newInstanceId(): string {
  return `${hostname()}-${randomBytes(4).toString('hex')}`;
}
