import type { Socket } from 'node:net';

type WriteMethod = '_write' | '_writev';

/**
 * Holds what a connection writes until the end of the event loop's turn, then writes every connection's held
 * data at once, each connection's in the order it was written.
 *
 * Why: under load a process handles several requests in one turn (one `epoll` wake-up), and each response written
 * the moment it ends wakes its client. A client on the same cores (nginx in front on a VM, or a load generator)
 * then takes the core from the process in the middle of its turn, once per response, and the process comes back
 * to a cold cache. Written together at the turn's end, the responses wake their clients once the turn's work is
 * done. Measured on one 2-core machine, this build against the one before in alternating rounds
 * (docs/benchmarks.md, "Workers"): gets at 8 connections with two workers, 5–6% more answered, 115–116 µs of
 * server CPU a get instead of 121–123; the note list at 50 connections in one process, 436 µs a request instead
 * of 511 and 14% more answered; at one connection, p50 0.65 ms against 0.63.
 *
 * A response waits at most for the rest of its turn (the callbacks of the I/O that woke the process with it),
 * never for a timer; at one connection there is nothing else in the turn. Streams (exports, downloads) are
 * unchanged in what they send: chunks written while one is held go out with it, as Node's own `cork` does.
 */
export class CoalescedWrites {
  private held: Array<{ socket: Socket; write: (...args: unknown[]) => void; args: unknown[] }> = [];
  private scheduled = false;

  /** Holds `socket`'s writes from now on (a server's `connection` or `secureConnection` listener). */
  readonly attach = (socket: Socket): void => {
    for (const method of ['_write', '_writev'] as const) {
      const write = (socket as unknown as Partial<Record<WriteMethod, (...args: unknown[]) => void>>)[method];
      if (typeof write !== 'function') continue;
      // The Writable contract's two methods (chunk(s) and a callback the stream waits for), on this socket only.
      (socket as unknown as Record<WriteMethod, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
        this.held.push({ socket, write, args });
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(this.flush);
        }
      };
    }
  };

  /** Writes everything held, each connection's in order; one connection failing does not stop the others. */
  private readonly flush = (): void => {
    this.scheduled = false;
    const held = this.held;
    this.held = [];
    for (const { socket, write, args } of held) {
      try {
        write.apply(socket, args);
      } catch (err) {
        // The stream's callback may not have run: end the connection so that nothing waits on it.
        socket.destroy(err as Error);
      }
    }
  };
}
