/** Histogram resolution: 8 buckets per doubling, so a percentile is within about 9% of the truth. */
const PER_DOUBLING = 8;
const BUCKETS = PER_DOUBLING * 40; // up to 2^40 µs: far beyond any request

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
  take(): { requests: number; errors: number; p95Us: number | null } {
    const figures = { requests: this.requests, errors: this.errors, p95Us: this.percentile(0.95) };
    this.counts.fill(0);
    this.requests = 0;
    this.errors = 0;
    return figures;
  }

  /** The upper bound of the bucket holding the q-quantile; null when nothing was recorded. */
  private percentile(q: number): number | null {
    if (this.requests === 0) return null;
    const rank = Math.ceil(q * this.requests);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.round(2 ** ((i + 1) / PER_DOUBLING));
    }
    return null;
  }
}
