import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTO_CONCURRENCY_MAX, Invalid, parseBoolean, parseConcurrency, parseDuration, parseInteger, parseList, usableCpus } from './parsers';

describe('parsers', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1500', 1500],
    [200, 200],
  ])('parseDuration(%j) = %d', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '5 minutes', '-1s', '1.5s', 'abc', -5])('parseDuration(%j) is NaN', (input) => expect(parseDuration(input)).toBeNaN());

  it('parses integers strictly', () => {
    expect(parseInteger('42')).toBe(42);
    expect(parseInteger('4.2')).toBeNaN();
    expect(parseInteger('42abc')).toBeNaN();
  });

  it('parses booleans and marks anything else invalid', () => {
    expect(parseBoolean('true')).toBe(true);
    expect(parseBoolean('OFF')).toBe(false);
    expect(parseBoolean('maybe')).toBeInstanceOf(Invalid);
  });

  it('splits comma-separated lists and drops blanks', () => {
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseList(['x', 1])).toEqual(['x', '1']);
  });
});

describe('WEB_CONCURRENCY', () => {
  const cgroup = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), 'kiroku-cgroup-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), text);
    }
    return root;
  };

  it('auto is the usable CPUs, at most eight; a number is taken as it is', () => {
    expect(parseConcurrency('auto')).toBe(Math.min(usableCpus(), AUTO_CONCURRENCY_MAX));
    expect(parseConcurrency(' AUTO ')).toBeGreaterThanOrEqual(1);
    expect(parseConcurrency('3')).toBe(3);
    expect(parseConcurrency('some')).toBeNaN();
  });

  it("counts a container's CPU limit (cgroup v2 and v1), in whole CPUs, at least one", () => {
    const cpus = availableParallelism();
    expect(usableCpus(cgroup({ 'cpu.max': 'max 100000\n' }))).toBe(cpus);
    expect(usableCpus(cgroup({ 'cpu.max': '100000 100000\n' }))).toBe(1);
    expect(usableCpus(cgroup({ 'cpu.max': '50000 100000\n' }))).toBe(1);
    expect(usableCpus(cgroup({ 'cpu.max': `${150000 * cpus} 100000\n` }))).toBe(cpus); // a limit above the affinity
    expect(usableCpus(cgroup({ 'cpu/cpu.cfs_quota_us': '100000', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(1);
    expect(usableCpus(cgroup({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(cpus);
    expect(usableCpus(cgroup({}))).toBe(cpus);
  });
});
