import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, Request, Response } from 'express';
import { KirokuExpressAdapter } from './http-adapter';

describe('KirokuExpressAdapter', () => {
  let server: Server;
  let app: Express;
  /** The prototypes each request and response had when the server built them, before Express saw them. */
  const built: Array<{ req: object; res: object }> = [];
  /** Bytes of a response still held by its connection right after the response ended. */
  const held: number[] = [];

  beforeAll(async () => {
    const adapter = new KirokuExpressAdapter();
    adapter.initHttpServer({});
    app = adapter.getInstance<Express>();
    server = adapter.getHttpServer();
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      built.push({ req: Object.getPrototypeOf(req) as object, res: Object.getPrototypeOf(res) as object });
    });
    app.get('/echo', (req: Request, res: Response) => res.json({ accept: req.get('accept'), app: req.app === app && res.app === app }));
    app.get('/held', (req: Request, res: Response) => {
      res.json({ ok: true });
      held.push(res.socket?.writableLength ?? -1);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("builds every request and response with the app's own prototype, so Express never has to change it", async () => {
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/echo`, { headers: { accept: 'application/json' } });
      // Express's request and response methods (req.get, req.app, res.json) are all there.
      expect(await res.json()).toEqual({ accept: 'application/json', app: true });
    }
    expect(built).toHaveLength(3);
    for (const seen of built) {
      expect(seen.req).toBe(app.request);
      expect(seen.res).toBe(app.response);
    }
  });

  it('holds each response until the end of the turn (src/coalesced-writes.ts), and delivers it', async () => {
    const { port } = server.address() as AddressInfo;
    expect(await (await fetch(`http://127.0.0.1:${port}/held`)).json()).toEqual({ ok: true });
    expect(held).toHaveLength(1);
    expect(held[0]).toBeGreaterThan(0);
  });

  it('keeps the settings every route relies on', () => {
    expect(app.get('case sensitive routing')).toBe(true);
    expect(app.get('x-powered-by')).toBe(false);
  });
});
