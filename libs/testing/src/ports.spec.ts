import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from './ports';

describe('freePort', () => {
  it('hands out ports outside the range the kernel gives listen(0) and outgoing connections', async () => {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port < low || port > high).toBe(true);
    // And a server on port 0 is never given one of them while they are held.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    expect(ports).not.toContain((server.address() as { port: number }).port);
    server.close();
  });

  it('never hands out the same port twice in one test file, even before the first is bound', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
  });

  it('skips a port something already listens on', async () => {
    const first = await freePort();
    // Whatever comes next in this file's slice is taken by another program before it is handed out.
    const taken = createServer().listen(first + 1, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
      expect(ports).not.toContain(first + 1);
    } finally {
      taken.close();
    }
  });
});
