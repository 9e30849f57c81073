/** Histogram resolution: 8 buckets per doubling, so a percentile is within about 9% of the truth. */
const PER_DOUBLING = 8;
const BUCKETS = PER_DOUBLING * 40; // up to 2^40 µs: far beyond any request

/** A period's requests as one process saw them; several processes' periods add up (see summarizeWindows). */
export interface WindowCounts {
  requests: number;
  errors: number;
  /** [bucket, count] for the latency buckets that hold any request. */
  buckets: Array<[number, number]>;
}

/** What the sampler records of a period. */
export interface WindowFigures {
  requests: number;
  errors: number;
  p95Us: number | null;
}

/**
 * Requests, server errors and a log-bucketed latency histogram since the last
 * `take()`: the per-period figures the sampler records. Constant memory and
 * an O(1) `record`, whatever the request rate.
 */
export class RequestWindow {
  private counts = new Uint32Array(BUCKETS);
  private requests = 0;
  private errors = 0;

  record(status: number, seconds: number): void {
    this.requests++;
    if (status >= 500) this.errors++;
    const us = Math.max(1, seconds * 1e6);
    this.counts[Math.min(BUCKETS - 1, Math.floor(Math.log2(us) * PER_DOUBLING))]++;
  }

  /** The period's figures; starts a new period. */
  take(): WindowFigures {
    return summarizeWindows([this.takeCounts()]);
  }

  /** The period's counts, to be added to other processes' (a machine's workers); starts a new period. */
  takeCounts(): WindowCounts {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) buckets.push([i, this.counts[i]]);
    const counts = { requests: this.requests, errors: this.errors, buckets };
    this.counts.fill(0);
    this.requests = 0;
    this.errors = 0;
    return counts;
  }
}

/** The figures of several processes' periods taken together; p95 is the upper bound of the bucket holding it (null when nothing was recorded). */
export function summarizeWindows(parts: readonly WindowCounts[]): WindowFigures {
  const counts = new Float64Array(BUCKETS);
  let requests = 0;
  let errors = 0;
  for (const part of parts) {
    requests += part.requests;
    errors += part.errors;
    for (const [bucket, count] of part.buckets) counts[bucket] += count;
  }
  return { requests, errors, p95Us: percentile(counts, requests, 0.95) };
}

function percentile(counts: Float64Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += counts[i];
    if (seen >= rank) return Math.round(2 ** ((i + 1) / PER_DOUBLING));
  }
  return null;
}
