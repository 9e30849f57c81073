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
 * never for a timer; at one connection there is nothing else in the turn. A connection destroyed while it holds
 * data writes it first, as it would have been written before (Node's own 400, 408 and 431 replies are written
 * and the socket destroyed in one go; `server.close()` destroys connections whose response has ended). A
 * write's callback runs once the write is done; an exception from it (the application's) is not taken for a
 * failed write: it is thrown again, uncaught as Node's own are, once every connection is written. Streams
 * (exports, downloads) send what they sent before; each further chunk goes out a turn later, with whatever was
 * written meanwhile.
 */
export class CoalescedWrites {
  /** Per connection, its held write (a stream has at most one write under way at a time), in the order held. */
  private readonly held = new Map<Socket, { write: (...args: unknown[]) => void; args: unknown[] }>();
  private scheduled = false;

  /** `uncaught`: where an exception from a write's callback goes (thrown again, uncaught, by default). */
  constructor(
    private readonly uncaught: (err: unknown) => void = (err) =>
      process.nextTick(() => {
        throw err;
      }),
  ) {}

  /** Holds `socket`'s writes from now on (a server's `connection` or `secureConnection` listener). */
  readonly attach = (socket: Socket): void => {
    const own = socket as unknown as Record<WriteMethod | 'destroy', (...args: unknown[]) => unknown>;
    for (const method of ['_write', '_writev'] as const) {
      const write = own[method];
      if (typeof write !== 'function') continue;
      // The Writable contract's two methods (chunk(s) and a callback the stream waits for), on this socket only.
      own[method] = (...args: unknown[]) => {
        this.held.set(socket, { write, args });
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(this.flush);
        }
      };
    }
    const destroy = own.destroy;
    own.destroy = (...args: unknown[]) => {
      this.release(socket);
      return destroy.apply(socket, args);
    };
  };

  /** Writes everything held, each connection's in order; one connection failing does not stop the others. */
  private readonly flush = (): void => {
    this.scheduled = false;
    for (const socket of [...this.held.keys()]) this.release(socket);
  };

  /**
   * Writes what `socket` holds, if anything, then answers its stream (whose callbacks, the application's among
   * them, run then); an exception from those goes to `uncaught`, never taken for a failed write.
   */
  private release(socket: Socket): void {
    const entry = this.held.get(socket);
    if (!entry) return;
    this.held.delete(socket);
    const { write, args } = entry;
    const done = args[args.length - 1] as (err?: Error | null) => void;
    let writing = true;
    let answered: { err?: Error | null } | undefined;
    args[args.length - 1] = (err?: Error | null) => (writing ? (answered = { err }) : done(err));
    try {
      write.apply(socket, args);
    } catch (err) {
      // The write failed before it could answer: end the connection, and answer it, so that nothing waits on it.
      if (!socket.destroyed) socket.destroy(err as Error);
      answered ??= { err: err as Error };
    }
    writing = false;
    if (!answered) return;
    try {
      done(answered.err);
    } catch (err) {
      this.uncaught(err);
    }
  }
}
