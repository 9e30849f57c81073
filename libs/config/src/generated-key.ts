import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type * as Age from 'age-encryption';
import type { KirokuConfig } from './schema';

/** The file name of the key Kiroku makes for itself in development, beside the SQLite file (DATABASE_PATH). */
export const GENERATED_IDENTITY_NAME = 'backup-identity.txt';

/** The line age-keygen writes, and so does Kiroku: `# public key: age1…`. */
const PUBLIC_KEY_LINE = /^# public key: (age1[0-9a-z]{58})$/m;

/**
 * Where a generated backup key lives, when this configuration may have one: in development only (the `npm start`
 * of a fresh checkout), and only while no key of any kind is set. Test, staging and production never use one:
 * production refuses to start without BACKUP_AGE_RECIPIENTS (`kiroku check`, backup-encryption-missing).
 */
export function generatedIdentityPath(config: KirokuConfig): string | null {
  const { backup } = config;
  if (config.app.env !== 'development') return null;
  if (backup.ageRecipients?.length || backup.agePassphrase || backup.ageIdentityFile) return null;
  return join(dirname(resolve(config.database.path)), GENERATED_IDENTITY_NAME);
}

/**
 * Uses a generated key that exists (made by the first start, see ensureGeneratedBackupKey): its public key as
 * BACKUP_AGE_RECIPIENTS and the file as BACKUP_AGE_IDENTITY_FILE, so that backups are encrypted and verified. A
 * file without a readable public key line is left alone (the backup then says that no key is set).
 */
export function useGeneratedBackupKey(config: KirokuConfig): void {
  const path = generatedIdentityPath(config);
  if (!path) return;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return; // not made yet
  }
  const recipient = PUBLIC_KEY_LINE.exec(text)?.[1];
  if (!recipient) return;
  config.backup.ageRecipients = [recipient];
  config.backup.ageIdentityFile = path;
  config.backup.generatedIdentityFile = path;
}

/**
 * In development, with no backup key set, the first start makes one: an age X25519 identity in age-keygen's format
 * (`# public key: age1…`, then the secret), mode 0600, beside the SQLite file. Written under a temporary name and
 * linked into place, so a crash leaves no half key and two starts at once keep the first (the second's link fails
 * and it uses the one there). Returns the path when this call made it; the configuration then uses it.
 */
export async function ensureGeneratedBackupKey(config: KirokuConfig, now: Date = new Date()): Promise<string | null> {
  const path = generatedIdentityPath(config);
  if (!path) return null;
  useGeneratedBackupKey(config);
  if (config.backup.generatedIdentityFile) return null; // made by an earlier start
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only on the start that needs it
  const age = require('age-encryption') as typeof Age;
  const identity = await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  const text = `# created: ${now.toISOString()}\n# public key: ${recipient}\n${identity}\n`;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  let made = false;
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
    made = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  useGeneratedBackupKey(config);
  return made ? path : null;
}
