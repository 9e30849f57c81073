import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'class-transformer';

/**
 * Settings arrive as strings (environment) or YAML scalars (config files).
 * Each parser turns a value it cannot read into NaN or an `Invalid` marker so
 * that the validator, not the parser, reports the problem with the setting's name.
 */
export class Invalid {
  constructor(readonly raw: unknown) {}
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "30s", "5m", "2h", "1d" or a bare number of milliseconds. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : NaN;
  if (typeof value !== 'string') return NaN;
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return NaN;
  return Number(match[1]) * UNITS[match[2] ?? 'ms'];
}

export function parseInteger(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : NaN;
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return NaN;
}

export function parseNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return NaN;
}

export function parseBoolean(value: unknown): boolean | Invalid {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
  }
  return new Invalid(value);
}

/** Comma-separated in the environment, a list or a string in YAML. */
export function parseList(value: unknown): string[] | Invalid {
  if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter(Boolean);
  if (typeof value === 'string')
    return value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  if (typeof value === 'number') return [String(value)];
  return new Invalid(value);
}

/** WEB_CONCURRENCY's ceiling for `auto`: beyond it more workers mostly add memory and database connections. */
export const AUTO_CONCURRENCY_MAX = 8;

/** `auto` (the CPUs this process may use, cgroup limits included, at most AUTO_CONCURRENCY_MAX) or a worker count. */
export function parseConcurrency(value: unknown): number {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return Math.min(usableCpus(), AUTO_CONCURRENCY_MAX);
  return parseInteger(value);
}

/**
 * The CPUs this process may use: its affinity (os.availableParallelism), and
 * its cgroup's CPU quota where one is set (a container's CPU limit), whole
 * CPUs rounded down, at least one. Node 20's libuv (1.46) reads only the
 * affinity; libuv learned the quota in 1.49.
 */
export function usableCpus(cgroupRoot = '/sys/fs/cgroup'): number {
  const quota = cgroupCpuQuota(cgroupRoot);
  return Math.max(1, Math.min(availableParallelism(), quota === null ? Infinity : Math.floor(quota)));
}

/** CPUs' worth of the cgroup's quota (v2 cpu.max, else v1 cfs_quota/cfs_period); null when unlimited or unknown. */
function cgroupCpuQuota(root: string): number | null {
  const read = (file: string) => {
    try {
      return readFileSync(join(root, file), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const v2 = read('cpu.max')?.split(/\s+/);
  if (v2) return v2[0] === 'max' ? null : Number(v2[0]) / Number(v2[1]) || null;
  const quota = Number(read('cpu/cpu.cfs_quota_us') ?? -1);
  const period = Number(read('cpu/cpu.cfs_period_us') ?? 0);
  return quota > 0 && period > 0 ? quota / period : null;
}

const whenSet = (parse: (v: unknown) => unknown) => Transform(({ value }) => (value === undefined || value === null ? undefined : parse(value)));

export const AsDuration = () => whenSet(parseDuration);
export const AsInteger = () => whenSet(parseInteger);
export const AsNumber = () => whenSet(parseNumber);
export const AsBoolean = () => whenSet(parseBoolean);
export const AsList = () => whenSet(parseList);
export const AsString = () => whenSet((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : new Invalid(v)));
export const AsConcurrency = () => whenSet(parseConcurrency);
