import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * How long a connection that has sent no request yet is given to send one
 * while the server drains. Node's closeIdleConnections() never closes such a
 * connection (it counts as busy until its headers time out), so one silent
 * client, such as a browser's speculative connection, held every drain for the
 * whole SHUTDOWN_GRACE_PERIOD and had it reported as cut; closing it at once
 * would instead reset a client whose request is on its way.
 */
export const FIRST_REQUEST_WAIT_MS = 1_000;

interface Tracked {
  openedAt: number;
  /** Requests answered (or abandoned) on this connection. */
  served: number;
  /** Requests whose response has not finished. */
  running: number;
}

const trackers = new WeakMap<Server, Connections>();

/**
 * The connections of one HTTP(S) server and what each is doing, so that a
 * drain closes only those with nothing to lose: keep-alive connections between
 * requests, and connections that have sent nothing for FIRST_REQUEST_WAIT_MS.
 * A TLS connection counts from the end of its handshake.
 */
export class Connections {
  private readonly open = new Map<Socket, Tracked>();

  /** The tracker of `server`, attached on first use: call it before the server listens. */
  static of(server: Server): Connections {
    let tracker = trackers.get(server);
    if (!tracker) {
      tracker = new Connections(server);
      trackers.set(server, tracker);
    }
    return tracker;
  }

  private constructor(server: Server) {
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.open.set(socket, { openedAt: Date.now(), served: 0, running: 0 });
      socket.once('close', () => this.open.delete(socket));
    });
    server.on('request', this.onRequest);
  }

  /**
   * Marked so that a test fixture answering requests itself (before the application's listeners) can still
   * report them here.
   */
  readonly onRequest = Object.assign(
    (req: { socket: Socket }, res: { once(event: 'close', listener: () => void): unknown }) => {
      const tracked = this.open.get(req.socket);
      if (!tracked) return;
      tracked.running++;
      res.once('close', () => {
        tracked.running--;
        tracked.served++;
      });
    },
    { tracksConnections: true },
  );

  /** Closes every connection with no request running that has served one, or has sent none within the wait. */
  closeIdle(now = Date.now()): number {
    let closed = 0;
    for (const [socket, t] of this.open) {
      if (t.running > 0 || (t.served === 0 && now - t.openedAt < FIRST_REQUEST_WAIT_MS)) continue;
      socket.destroy();
      closed++;
    }
    return closed;
  }

  /** Closes every connection, requests running or not (the grace period is over). */
  closeAll(): void {
    for (const socket of this.open.keys()) socket.destroy();
  }

  get size(): number {
    return this.open.size;
  }
}
