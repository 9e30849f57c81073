import type { Counter, Gauge } from 'prom-client';

/**
 * The collect function of a gauge whose figures come from elsewhere (the
 * database, the disk): when reading fails, the gauge is left out of this
 * scrape and the failure counted, instead of failing the whole scrape —
 * /metrics must still answer while the database is down, or every monitor
 * would call the instance itself down.
 */
export function guardedCollect<T extends string>(errors: Counter, read: (gauge: Gauge<T>) => Promise<void>): (this: Gauge<T>) => Promise<void> {
  return async function (this: Gauge<T>) {
    try {
      await read(this);
    } catch {
      this.reset();
      errors.inc();
    }
  };
}

/**
 * `read`'s result, shared by the gauges of one scrape (prom-client collects
 * them one after another): one catalog read or one statfs per scrape, not one
 * per gauge.
 */
export function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), value: read() };
    return cached.value;
  };
}
