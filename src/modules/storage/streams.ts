import { createHash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { AGE_HEADER } from './age';

/** Read size of backup streams: large enough for throughput, small enough that a few stages in flight stay a few MiB. */
export const STREAM_CHUNK = 256 * 1024;

/** Passes bytes through, counting them and hashing them (sha256). */
export class Measure extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  private digest?: string;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  get sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/** Refuses a stream that does not begin with the age header: nothing unencrypted is ever stored. */
export class RequireAgeHeader extends Transform {
  private seen = Buffer.alloc(0);
  private checked = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.checked) {
      this.seen = Buffer.concat([this.seen, chunk]);
      if (this.seen.length < AGE_HEADER.length) return done();
      if (this.seen.subarray(0, AGE_HEADER.length).toString('latin1') !== AGE_HEADER)
        return done(new Error('the data does not begin with the age header: refusing it'));
      this.checked = true;
      const all = this.seen;
      this.seen = Buffer.alloc(0);
      return done(null, all);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.checked ? null : new Error('the data is shorter than the age header: refusing it'));
  }
}

/** A byte count for people: 8 KiB, 175.3 MiB, 1.02 GiB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}
