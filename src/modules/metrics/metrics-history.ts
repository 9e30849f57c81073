import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { MoreThan } from 'typeorm';
import { Instance } from '../cluster';
import { MetricSample } from './metric-sample.entity';

/** The console's ranges: how far back, and how wide each point is. */
export const RANGES = {
  hour: { spanMs: 3_600_000, stepMs: 60_000 },
  day: { spanMs: 86_400_000, stepMs: 15 * 60_000 },
  week: { spanMs: 7 * 86_400_000, stepMs: 2 * 3_600_000 },
} as const;
export type Range = keyof typeof RANGES;

/** Chart data: shared x values (epoch seconds) and, per chart, named series aligned with them (null: no data). */
export interface Series {
  range: Range;
  t: number[];
  charts: Record<'requests' | 'errorRate' | 'latencyP95' | 'cpu' | 'memory' | 'disk', Array<{ name: string; values: Array<number | null> }>>;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
const VOLUMES = { data: (s: MetricSample) => s.diskDataPermille, logs: (s: MetricSample) => s.diskLogsPermille } as const;
const round = (x: number | null, digits = 2) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/**
 * Reads `metric_samples` into fixed-width points for the charts: cluster
 * totals for traffic and error rate, one line per instance (named host:port)
 * for latency, CPU, memory and disk.
 */
@Injectable()
export class MetricsHistory {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async series(range: Range): Promise<Series> {
    const { spanMs, stepMs } = RANGES[range];
    const end = Math.ceil(this.clock.nowMs() / stepMs) * stepMs;
    const start = end - spanMs;
    const samples = await this.db.manager.find(MetricSample, { where: { at: MoreThan(new Date(start)) }, order: { at: 'ASC' } });
    const ids = [...new Set(samples.map((s) => s.instanceId))];
    const instances = ids.length ? await this.db.manager.find(Instance, { where: ids.map((id) => ({ id })) }) : [];
    const nameOf = new Map(instances.map((i) => [i.id, i.address || i.id.slice(0, 12)]));
    const nameFor = (s: MetricSample) => nameOf.get(s.instanceId) ?? s.instanceId.slice(0, 12);
    // Two processes that shared an address one after another (a restart) make one line.
    const names = [...new Set(samples.map(nameFor))].sort();
    const points = spanMs / stepMs;
    const t = Array.from({ length: points }, (_, i) => (start + (i + 1) * stepMs) / 1000);
    const buckets = Array.from({ length: points }, () => [] as MetricSample[]);
    for (const s of samples) {
      const i = Math.min(points - 1, Math.floor((s.at.getTime() - start - 1) / stepMs));
      if (i >= 0) buckets[i].push(s);
    }
    // Each instance's rate over the time its samples cover, summed: right for the newest point (partly
    // elapsed), for gaps, and whatever the sampling interval.
    const clusterRate = (b: MetricSample[]) => {
      if (!b.length) return null;
      const byInstance = new Map<string, { requests: number; ms: number }>();
      for (const s of b) {
        const acc = byInstance.get(s.instanceId) ?? { requests: 0, ms: 0 };
        acc.requests += s.requests;
        acc.ms += s.periodMs;
        byInstance.set(s.instanceId, acc);
      }
      return round([...byInstance.values()].reduce((a, x) => a + (x.ms ? (x.requests * 1000) / x.ms : 0), 0));
    };
    const perInstance = (pick: (s: MetricSample) => number | null, agg: (xs: number[]) => number | null = mean, digits = 2) =>
      names.map((name) => ({
        name,
        values: buckets.map((b) =>
          round(
            agg(
              b
                .filter((s) => nameFor(s) === name)
                .map(pick)
                .filter((x): x is number => x !== null),
            ),
            digits,
          ),
        ),
      }));
    // One line per instance and volume (instance by instance), for the volumes it has.
    const byVolume = Object.entries(VOLUMES).map(([volume, permille]) => ({
      volume,
      lines: perInstance(
        (s) => {
          const p = permille(s);
          return p === null ? null : p / 10;
        },
        max,
        1,
      ),
    }));
    const disk = names
      .flatMap((name, i) => byVolume.map(({ volume, lines }) => ({ name: `${name} ${volume}`, values: lines[i].values })))
      .filter((line) => line.values.some((v) => v !== null));
    return {
      range,
      t,
      charts: {
        requests: [{ name: 'requests/s', values: buckets.map(clusterRate) }],
        errorRate: [
          {
            name: '5xx %',
            values: buckets.map((b) => {
              const requests = b.reduce((a, s) => a + s.requests, 0);
              return requests ? round((100 * b.reduce((a, s) => a + s.errors, 0)) / requests) : b.length ? 0 : null;
            }),
          },
        ],
        latencyP95: perInstance((s) => (s.latencyP95Us === null ? null : s.latencyP95Us / 1000), max),
        cpu: perInstance((s) => s.cpuPermille / 10, mean, 1),
        memory: perInstance((s) => s.rssBytes / 2 ** 20, mean, 0),
        disk,
      },
    };
  }
}
