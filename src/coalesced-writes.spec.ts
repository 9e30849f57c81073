import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { CoalescedWrites } from './coalesced-writes';

/** A TCP server whose accepted socket is coalesced (after `prepare`, if given), and a client connected to it. */
async function socketPair(coalesced: CoalescedWrites, prepare?: (served: Socket) => void): Promise<{ server: NetServer; served: Socket; client: Socket }> {
  const server = createNetServer();
  server.on('connection', (socket: Socket) => {
    prepare?.(socket);
    coalesced.attach(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [served] = await accepted;
  return { server, served, client };
}

function received(client: Socket, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      text += chunk;
      if (text.length >= bytes) resolve(text);
    });
  });
}

describe('CoalescedWrites', () => {
  const closing: Array<() => void> = [];
  afterEach(() => closing.splice(0).forEach((close) => close()));

  it('holds a write until the end of the turn, then sends it', async () => {
    const { server, served, client } = await socketPair(new CoalescedWrites());
    closing.push(() => (client.destroy(), served.destroy(), server.close()));
    const arrived = received(client, 5);
    served.write('hello');
    // Still held: the write's callback has not run and the bytes are pending in the stream.
    expect(served.writableLength).toBe(5);
    await new Promise((resolve) => setImmediate(resolve));
    expect(served.writableLength).toBe(0);
    expect(await arrived).toBe('hello');
  });

  it("sends every connection's held writes at the end of the same turn, and what each wrote after, in order", async () => {
    const coalesced = new CoalescedWrites();
    const pairs = [await socketPair(coalesced), await socketPair(coalesced)];
    for (const { server, served, client } of pairs) closing.push(() => (client.destroy(), served.destroy(), server.close()));
    const arrived = pairs.map(({ client }) => received(client, 9));
    pairs[0].served.write('one ');
    pairs[1].served.write('two ');
    pairs[0].served.write('three');
    pairs[1].served.write('four!');
    expect(pairs.map(({ served }) => served.writableLength)).toEqual([9, 9]);
    // The first write of each went out together; the second waited in the stream for the first (as without the
    // holder) and is held in turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(pairs.map(({ served }) => served.writableLength)).toEqual([5, 5]);
    expect(await Promise.all(arrived)).toEqual(['one three', 'two four!']);
  });

  it('writes what a connection holds before it is destroyed, and the others’ at the end of the turn', async () => {
    const coalesced = new CoalescedWrites();
    const gone = await socketPair(coalesced);
    const kept = await socketPair(coalesced);
    for (const { server, served, client } of [gone, kept]) closing.push(() => (client.destroy(), served.destroy(), server.close()));
    const lastWords = received(gone.client, 4);
    const arrived = received(kept.client, 4);
    // As Node's HTTP server answers a request it cannot parse: write the reply, destroy the socket, in one go.
    gone.served.write('bye!');
    kept.served.write('kept');
    gone.served.destroy();
    expect(gone.served.destroyed).toBe(true);
    expect(kept.served.writableLength).toBe(4);
    expect(await lastWords).toBe('bye!');
    expect(await arrived).toBe('kept');
  });

  it('runs a write’s callback once it is done, and does not take an exception from it for a failed write', async () => {
    const uncaught: unknown[] = [];
    const coalesced = new CoalescedWrites((err) => uncaught.push(err));
    const pairs = [await socketPair(coalesced), await socketPair(coalesced)];
    for (const { server, served, client } of pairs) closing.push(() => (client.destroy(), served.destroy(), server.close()));
    const arrived = pairs.map(({ client }) => received(client, 3));
    let written = -1;
    pairs[0].served.write('one', () => {
      written = pairs[0].served.bytesWritten;
      throw new Error('a bug in the callback');
    });
    pairs[1].served.write('two');
    expect(await Promise.all(arrived)).toEqual(['one', 'two']);
    expect(written).toBe(3);
    // Thrown again (uncaught, by default), not swallowed; the connection stays open, its write having succeeded.
    expect(uncaught.map((err) => (err as Error).message)).toEqual(['a bug in the callback']);
    expect(pairs[0].served.destroyed).toBe(false);
  });

  it('ends a connection whose held write throws, and still writes the others', async () => {
    const coalesced = new CoalescedWrites();
    // The socket's own write (what the holder calls at the end of the turn) fails unexpectedly.
    const broken = await socketPair(coalesced, (socket) => {
      socket._write = () => {
        throw new Error('the write failed');
      };
    });
    const kept = await socketPair(coalesced);
    for (const { server, served, client } of [broken, kept]) closing.push(() => (client.destroy(), served.destroy(), server.close()));
    const errors: Error[] = [];
    broken.served.on('error', (err: Error) => errors.push(err));
    const arrived = received(kept.client, 4);
    broken.served.write('oops');
    kept.served.write('kept');
    expect(await arrived).toBe('kept');
    await new Promise((resolve) => setImmediate(resolve));
    expect(broken.served.destroyed).toBe(true);
    expect(errors.map((err) => err.message)).toEqual(['the write failed']);
  });
});

describe('CoalescedWrites on an HTTP server', () => {
  let server: Server;
  let port: number;
  const big = 'x'.repeat(1 << 20);

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/stream') {
        // A body written in many chunks, as an export streams: all of it arrives, in order.
        let i = 0;
        const more = (): void => {
          while (i < 200) {
            const ok = res.write(`${String(i++).padStart(5, '0')}${big.slice(0, 4096)}\n`);
            if (!ok) return void res.once('drain', more);
          }
          res.end('done\n');
        };
        return more();
      }
      res.setHeader('content-type', 'text/plain');
      if (req.url === '/then-close') {
        // A response ended in the same turn as a drain's `server.close()`, which closes the connections whose
        // request was read and whose response has ended.
        setTimeout(() => res.end('ended, then closed'), 20);
        setTimeout(() => server.closeIdleConnections(), 20);
        return;
      }
      res.end(req.url === '/big' ? big : `you asked for ${req.url}`);
    });
    server.on('connection', new CoalescedWrites().attach);
    server.keepAliveTimeout = 1000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  it('answers many requests at once on kept-alive connections, each with its own body', async () => {
    const paths = Array.from({ length: 60 }, (_, i) => `/note/${i}`);
    const bodies = await Promise.all(paths.map((path) => fetch(`http://127.0.0.1:${port}${path}`).then((res) => res.text())));
    expect(bodies).toEqual(paths.map((path) => `you asked for ${path}`));
  });

  it('sends a large body whole, and a streamed one whole and in order', async () => {
    expect((await (await fetch(`http://127.0.0.1:${port}/big`)).text()).length).toBe(big.length);
    const lines = (await (await fetch(`http://127.0.0.1:${port}/stream`)).text()).trimEnd().split('\n');
    expect(lines).toHaveLength(201);
    expect(lines.slice(0, -1).map((line) => Number(line.slice(0, 5)))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(lines.at(-1)).toBe('done');
  });

  it('answers pipelined requests on one connection in order, and closes after `Connection: close`', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    await once(socket, 'close');
    expect([...text.matchAll(/you asked for (\/\w)/g)].map((match) => match[1])).toEqual(['/a', '/b', '/c']);
  });

  it('delivers a response ended just before its connection is closed as idle (a drain)', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/then-close`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ended, then closed');
  });

  it("delivers Node's own replies to requests it refuses (431, 400): written and the connection destroyed at once", async () => {
    for (const [request, status] of [
      [`GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(20_000)}\r\n\r\n`, '431'],
      ['NOT HTTP AT ALL\r\n\r\n', '400'],
    ]) {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.write(request);
      await once(socket, 'close');
      expect(text.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    }
  });
});
