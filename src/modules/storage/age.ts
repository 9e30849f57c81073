import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BackupConfig } from '@kiroku/config';
import type * as Age from 'age-encryption';

/** age-encryption, loaded by the first backup or log archive rather than at every start-up. */
function age(): typeof Age {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return require('age-encryption') as typeof Age;
}

/** Every age file starts with this line; nothing without it is ever stored. */
export const AGE_HEADER = 'age-encryption.org/v1\n';

export interface EncryptionKey {
  /** x25519 or passphrase */
  kind: 'x25519' | 'passphrase';
  /** 16 hex of sha256 over the sorted recipients (or the word passphrase): which key opens a backup, without the key. */
  fingerprint: string;
  encrypt(plain: Readable): Promise<Readable>;
}

/** The encryption settings as a key to write backups with; throws a message naming the setting when there is none. */
/** No key to encrypt backups with: a setting to make, not a failure of the machine. */
export class MissingEncryptionKey extends Error {
  constructor() {
    super(
      'BACKUP_AGE_RECIPIENTS is unset (and so is BACKUP_AGE_PASSPHRASE): backups are never written unencrypted; create a key with age-keygen and set its public recipient',
    );
  }
}

export function encryptionKey(config: BackupConfig): EncryptionKey {
  const recipients = config.ageRecipients ?? [];
  if (!recipients.length && !config.agePassphrase) throw new MissingEncryptionKey();
  const kind = recipients.length ? 'x25519' : 'passphrase';
  const fingerprint = createHash('sha256')
    .update(kind === 'x25519' ? [...recipients].sort().join(',') : 'passphrase')
    .digest('hex')
    .slice(0, 16);
  return {
    kind,
    fingerprint,
    async encrypt(plain) {
      const encrypter = new (age().Encrypter)();
      if (kind === 'x25519') for (const r of recipients) encrypter.addRecipient(r);
      else encrypter.setPassphrase(config.agePassphrase!);
      const out = await encrypter.encrypt(Readable.toWeb(plain) as unknown as ReadableStream<Uint8Array>);
      return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
    },
  };
}

/** Whether backups can be decrypted here (an identity file or the passphrase). */
export function canDecrypt(config: BackupConfig): boolean {
  return !!(config.ageIdentityFile || config.agePassphrase);
}

/** The decrypted stream of an age file; errors (wrong key, flipped byte, truncation) surface on the stream. */
export async function decrypt(config: BackupConfig, encrypted: Readable): Promise<Readable> {
  const decrypter = new (age().Decrypter)();
  if (config.ageIdentityFile) for (const identity of readIdentities(config.ageIdentityFile)) decrypter.addIdentity(identity);
  if (config.agePassphrase) decrypter.addPassphrase(config.agePassphrase);
  if (!config.ageIdentityFile && !config.agePassphrase)
    throw new Error('BACKUP_AGE_IDENTITY_FILE is unset (and so is BACKUP_AGE_PASSPHRASE): this machine cannot decrypt backups');
  const out = await decrypter.decrypt(Readable.toWeb(encrypted) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/** The AGE-SECRET-KEY-1… lines of an identity file (age-keygen's format; comments ignored). */
function readIdentities(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`BACKUP_AGE_IDENTITY_FILE: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
    });
  }
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!keys.length) throw new Error(`BACKUP_AGE_IDENTITY_FILE: ${path} holds no AGE-SECRET-KEY line`);
  return keys;
}
