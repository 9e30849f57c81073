import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidSettingError } from './errors';

/**
 * Makes sure the SQLite file can be created and written, creating its folder.
 * Throws an error naming DATABASE_PATH rather than letting SQLite fail later.
 */
export function prepareSqliteFile(path: string): string {
  const file = resolve(path);
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new InvalidSettingError('DATABASE_PATH', `cannot create the folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    if (existsSync(file)) {
      if (!statSync(file).isFile()) throw new InvalidSettingError('DATABASE_PATH', `${file} exists and is not a file`);
      accessSync(file, constants.R_OK | constants.W_OK);
    }
    // SQLite writes -wal and -shm files beside the database.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof InvalidSettingError) throw error;
    throw new InvalidSettingError('DATABASE_PATH', `${existsSync(file) ? file : dir} is not writable by this process`);
  }
  return file;
}
