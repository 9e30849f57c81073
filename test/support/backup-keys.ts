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

/**
 * A real file system of `kib` KiB (tmpfs) to fill up. Needs root (CI machines
 * run as root); elsewhere the caller skips, saying so.
 */
export function smallDisk(kib: number): { path: string; grow(kib: number): void; unmount(): void } | { unavailable: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const path = tempDir();
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', path], { encoding: 'utf8' });
  if (mounted.status !== 0) return { unavailable: `cannot mount a small tmpfs: ${(mounted.stderr || mounted.error?.message || '').trim()}` };
  return {
    path,
    grow: (size) => {
      const grown = spawnSync('mount', ['-o', `remount,size=${size}k`, path], { encoding: 'utf8' });
      if (grown.status !== 0) throw new Error(`cannot grow the tmpfs: ${grown.stderr}`);
    },
    unmount: () => void spawnSync('umount', ['-l', path]),
  };
}
