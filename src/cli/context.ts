import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { newInstanceId } from '@kiroku/supervisor';
import pino from 'pino';

import { PinoLoggerService } from '../modules/logs';
import { preflight } from '../preflight';
import { CliContextOptions, CliModule } from './cli.module';

/** The variables a command reads its settings from (process.env, or a test's own). */
export type CliEnv = Record<string, string | undefined>;

/** A failure the CLI reports as one line and a non-zero exit code. */
export class CliFailure extends Error {}

export const out = (line = '') => process.stdout.write(`${line}\n`);

/** Runs `fn` in the CLI's application context, built from the settings as start-up checks them, and closes it after. */
export async function withContext<T>(env: CliEnv, fn: (ctx: INestApplicationContext) => Promise<T>, options: CliContextOptions = {}): Promise<T> {
  const config = preflight(env);
  // Commands print their own results and a one-line reason on failure; framework logs only with LOG_LEVEL=debug or trace, on stderr.
  const verbose = config.log.level === 'debug' || config.log.level === 'trace';
  const logger = pino({ level: verbose ? config.log.level : 'silent', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
  const ctx = await NestFactory.createApplicationContext(CliModule.forRoot({ config, instanceId: `cli-${newInstanceId()}`, connectAttempts: 1 }, options), {
    logger: new PinoLoggerService(logger),
    abortOnError: false,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** A command action that runs in the application context: it gets the context, then commander's arguments and options. */
export function inContext<A extends unknown[]>(
  env: CliEnv,
  fn: (ctx: INestApplicationContext, ...args: A) => Promise<void>,
  options: CliContextOptions = {},
): (...args: A) => Promise<void> {
  return (...args) => withContext(env, (ctx) => fn(ctx, ...args), options);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `12 rows in 3 tables`, from each table's row count. */
export function rowsInTables(rowsPerTable: number[]): string {
  return `${rowsPerTable.reduce((a, b) => a + b, 0)} rows in ${rowsPerTable.length} tables`;
}
