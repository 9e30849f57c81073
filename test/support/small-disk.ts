import { spawnSync } from 'node:child_process';
import { tempDir } from '@kiroku/testing';

export interface SmallDisk {
  path: string;
  grow(kib: number): void;
  unmount(): void;
}

/**
 * A real file system of `kib` KiB (tmpfs) to fill up, for the test named
 * `test`. Needs root (CI machines run as root): elsewhere it says loudly that
 * the test is skipped and returns null; under CI=true it throws instead.
 */
export function smallDisk(kib: number, test: string): SmallDisk | null {
  const path = tempDir();
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', path], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    const reason = `cannot mount a small tmpfs: ${(mounted.stderr || mounted.error?.message || '').trim()}`;
    if (process.env.CI === 'true') throw new Error(`${test} needs a small real disk: ${reason}`);
    console.warn(`SKIPPED: ${test} (${reason})`);
    return null;
  }
  return {
    path,
    grow: (size: number) => {
      const grown = spawnSync('mount', ['-o', `remount,size=${size}k`, path], { encoding: 'utf8' });
      if (grown.status !== 0) throw new Error(`cannot grow the tmpfs: ${grown.stderr}`);
    },
    unmount: () => void spawnSync('umount', ['-l', path]),
  };
}
