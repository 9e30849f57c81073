import { createServer } from 'node:net';

/**
 * Ports handed to child processes (PostgreSQL, Azurite, Kiroku, nginx) come from below Linux's ephemeral range
 * (32768–60999), where `listen(0)` and every outgoing connection take theirs. A port taken with `listen(0)` and
 * closed again goes back to that pool: before the child binds it, a receiver in another test file may be given
 * the same port, the child fails to start, and the test talks to the wrong server (a CI run hung on exactly that).
 * Each jest worker draws from its own slice, one port after the other, so two test files never race for one;
 * a port found in use (another program, another run) is skipped.
 */
const FIRST = 12_000;
const SLICE = 1_250;
const SLICES = 16;
const slice = (Number(process.env.JEST_WORKER_ID ?? 0) || 0) % SLICES;
let next = Math.floor(Math.random() * SLICE);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on now and that no other test file of this run is handed. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = FIRST + slice * SLICE + (next++ % SLICE);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${FIRST + slice * SLICE}–${FIRST + (slice + 1) * SLICE - 1}`);
}
