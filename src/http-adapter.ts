import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import express, { type Express } from 'express';
import { CoalescedWrites } from './coalesced-writes';

/**
 * Request and response classes whose prototypes are the app's `request` and `response`, so that the server
 * builds each request and response with Express's prototype already in place.
 *
 * Why: Express gives every request and response its own prototype (`Object.setPrototypeOf(req, app.request)`
 * in `app.handle`). In V8 that leaves each of them alive through two young-generation collections, so every
 * request's objects were copied into the old generation: about 27 KB a request, scavenges of 4 ms instead of
 * 0.5, and a full mark-compact (10–20 ms, the slowest requests at one connection) every second or two under
 * load. When the prototype is already the one Express sets, V8 changes nothing and they die young. Measured
 * with `--trace-gc` (docs/benchmarks.md, "Garbage collection per request").
 */
export function requestClasses(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  class KirokuRequest extends IncomingMessage {}
  class KirokuResponse extends ServerResponse {}
  for (const [own, cls, key] of [
    [app.request, KirokuRequest, 'request'],
    [app.response, KirokuResponse, 'response'],
  ] as const) {
    // The class's prototype becomes the app's: Express's methods behind it, the app's own properties (`app`) on it.
    Object.setPrototypeOf(cls.prototype, Object.getPrototypeOf(own) as object);
    Object.defineProperties(cls.prototype, Object.getOwnPropertyDescriptors(own));
    (app as unknown as Record<string, object>)[key] = cls.prototype;
  }
  return { IncomingMessage: KirokuRequest, ServerResponse: KirokuResponse as unknown as typeof ServerResponse };
}

/** Nest's Express adapter, its server built with the classes above and its writes coalesced (HTTP or HTTPS alike). */
export class KirokuExpressAdapter extends ExpressAdapter {
  constructor() {
    const instance = express();
    instance.set('case sensitive routing', true);
    instance.disable('x-powered-by');
    super(instance);
  }

  override initHttpServer(options: NestApplicationOptions): void {
    // Options this adapter does not rebuild (Kiroku sets neither) go to Nest's own server, as before.
    if (options?.return503OnClosing || options?.forceCloseConnections) return super.initHttpServer(options);
    const app = this.getInstance<Express>();
    const classes = requestClasses(app);
    this.httpServer = options?.httpsOptions ? createHttpsServer({ ...options.httpsOptions, ...classes }, app) : createHttpServer(classes, app);
    // Responses leave at the end of the event loop's turn, together (src/coalesced-writes.ts says why).
    this.httpServer.on(options?.httpsOptions ? 'secureConnection' : 'connection', new CoalescedWrites().attach);
  }
}
