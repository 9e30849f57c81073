import type { Readable } from 'node:stream';

/**
 * The lines of a stream, without their '\n', a batch per chunk read: memory
 * holds one chunk and one partial line. A last line without '\n' is refused:
 * every line a writer finished ends with one, so its absence means truncation.
 */
export async function* lineBatches(stream: Readable, maxLineBytes: number): AsyncGenerator<string[]> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
      lines.push(data.toString('utf8', start, end));
      start = end + 1;
    }
    data = data.subarray(start);
    if (data.length > maxLineBytes) throw new Error(`a line is longer than ${maxLineBytes} bytes`);
    carry = Buffer.from(data);
    if (lines.length) yield lines;
  }
  if (carry.length) throw new Error('the last line is cut short');
}
