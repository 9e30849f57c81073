import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@kiroku/testing';

/** A fresh age X25519 key pair: the identity in a file (as age-keygen writes it) and its recipient. */
export async function ageKeyPair(): Promise<{ identityFile: string; recipient: string }> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  const identityFile = join(tempDir(), 'backup-identity.txt');
  writeFileSync(identityFile, `# created for a test\n${identity}\n`, { mode: 0o600 });
  return { identityFile, recipient: await identityToRecipient(identity) };
}
