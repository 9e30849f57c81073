import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Connections, FIRST_REQUEST_WAIT_MS } from './connections';

/** A real HTTP server on loopback whose requests wait until the test answers them. */
async function startServer(): Promise<{ server: Server; port: number; connections: Connections; waiting: ServerResponse[] }> {
  const waiting: ServerResponse[] = [];
  const server = createServer((_req, res) => waiting.push(res));
  const connections = Connections.of(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections, waiting };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
const request = (socket: Socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
}

describe('Connections (what a drain may close)', () => {
  let server: Server;
  const sockets: Socket[] = [];
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.destroy());
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('leaves a connection that has not sent its request yet for FIRST_REQUEST_WAIT_MS, then closes it', async () => {
    const s = await startServer();
    server = s.server;
    const fresh = await open(s.port);
    sockets.push(fresh);
    await until(() => s.connections.size === 1);

    expect(s.connections.closeIdle()).toBe(0);
    expect(fresh.destroyed).toBe(false);
    // Its request, sent now, is still heard and answered.
    request(fresh);
    await until(() => s.waiting.length === 1);
    expect(s.connections.closeIdle(Date.now() + FIRST_REQUEST_WAIT_MS)).toBe(0);

    // A connection that never sends one is closed once the wait is over.
    const silent = await open(s.port);
    sockets.push(silent);
    await until(() => s.connections.size === 2);
    expect(s.connections.closeIdle(Date.now() + FIRST_REQUEST_WAIT_MS)).toBe(1);
    await closed(silent);
    expect(fresh.destroyed).toBe(false);
  });

  it('closes a keep-alive connection between requests at once, and one with a request running only once it is answered', async () => {
    const s = await startServer();
    server = s.server;
    const socket = await open(s.port);
    sockets.push(socket);
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    request(socket);
    await until(() => s.waiting.length === 1);

    expect(s.connections.closeIdle(Date.now() + FIRST_REQUEST_WAIT_MS)).toBe(0);
    s.waiting[0].end('one');
    await until(() => received.endsWith('one'));
    // Answered, kept alive, nothing running: nothing to lose by closing it.
    expect(s.connections.closeIdle()).toBe(1);
    await closed(socket);
    await until(() => s.connections.size === 0);
  });

  it('closeAll cuts connections whatever they are doing', async () => {
    const s = await startServer();
    server = s.server;
    const busy = await open(s.port);
    const fresh = await open(s.port);
    sockets.push(busy, fresh);
    request(busy);
    await until(() => s.waiting.length === 1 && s.connections.size === 2);
    s.connections.closeAll();
    await Promise.all([closed(busy), closed(fresh)]);
  });
});
