import { blockingFindings, ConfigError, ensureGeneratedBackupKey, formatFinding, KirokuConfig, loadConfig, prepareSqliteFile } from '@kiroku/config';

/** Why the process refuses to start, as one message for stderr. */
export class StartupRefused extends Error {}

/**
 * Everything that can be known to be wrong before any module starts:
 * invalid settings, an unusable SQLite path, and (in production) the
 * error-level findings of `kiroku check`.
 */
export function preflight(env: Record<string, string | undefined> = process.env): KirokuConfig {
  const config = loadConfig({ env });
  if (config.database.engine === 'sqlite') prepareSqliteFile(config.database.path);
  const blocking = blockingFindings(config);
  if (blocking.length > 0) {
    throw new StartupRefused(
      `production start-up refused, ${blocking.length} error-level finding(s) (see \`kiroku check\`):\n${blocking.map((f) => `  ${formatFinding(f)}`).join('\n')}`,
    );
  }
  return config;
}

/** In development with no backup key set, makes one (see ensureGeneratedBackupKey); a failure is said, not fatal. */
export async function developmentBackupKey(config: KirokuConfig): Promise<void> {
  await ensureGeneratedBackupKey(config).catch((error: Error) =>
    process.stderr.write(`kiroku: could not generate a development backup key (backups will say that no key is set): ${error.message}\n`),
  );
}

/** Prints a start-up refusal without a stack trace and returns the exit code. */
export function reportStartupError(error: unknown, what: 'start-up' | 'command' = 'start-up'): number {
  if (error instanceof ConfigError || error instanceof StartupRefused) {
    process.stderr.write(`kiroku: ${error.message}\n`);
    return 78; // EX_CONFIG
  }
  process.stderr.write(`kiroku: ${what} failed: ${(error as Error)?.message ?? String(error)}\n`);
  return 1;
}
