import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
}

/**
 * Where backups (and log archives) are kept. Every implementation passes the
 * same contract suite (test/storage-destinations.int-spec.ts).
 */
export interface StorageDestination {
  readonly kind: 'local' | 'azure';
  /** For messages: the folder or the container, never a credential. */
  readonly description: string;
  /**
   * Stores the stream under `key`, visible only once all of it is written and
   * durable; a failed or interrupted put leaves nothing under `key`. An
   * existing object is never overwritten. Resolves to the bytes stored.
   */
  put(key: string, body: Readable): Promise<number>;
  /** The object's bytes; rejects with ObjectMissing when there is none. */
  get(key: string): Promise<Readable>;
  /** Objects whose keys start with prefix, by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes the object; deleting a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Removes leftovers of interrupted puts under `prefix`; returns how many. Call it only while no put under prefix runs. */
  cleanup(prefix: string): Promise<number>;
}

export class ObjectMissing extends Error {
  constructor(key: string) {
    super(`no object ${key}`);
  }
}

/** Keys are relative paths of safe characters: `backups/kiroku-….age`. */
export function checkKey(key: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(key) || key.includes('..'))
    throw new Error(`invalid object key ${JSON.stringify(key)}`);
  return key;
}
