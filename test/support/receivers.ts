import { once } from 'node:events';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** What a Kiroku webhook notification carries besides its Slack/Teams `text`. */
export interface WebhookMessage {
  text: string;
  kiroku: {
    status: string;
    kind: string;
    rule: string;
    severity: string;
    subject: string;
    summary: string;
    startsAt: string;
    endsAt: string | null;
    url: string;
  };
}

/** A real HTTP server that records the JSON bodies POSTed to it; `failWith` makes it answer an error status instead. */
export class WebhookReceiver {
  readonly messages: WebhookMessage[] = [];
  /** Requests whose body was not JSON: shown when a test waits in vain. */
  readonly rejected: string[] = [];
  failWith: number | null = null;
  private server!: Server;
  url = '';

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    r.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (r.failWith) {
          res.writeHead(r.failWith).end();
          return;
        }
        try {
          r.messages.push(JSON.parse(body) as WebhookMessage);
        } catch {
          // Not a notification (another test's request on a reused port, or a cut body): answered, and recorded as what it was.
          r.rejected.push(`${req.method} ${req.url} ${body.slice(0, 200)}`);
          res.writeHead(400, { 'content-type': 'text/plain' }).end('not JSON');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    r.server.listen(0, '127.0.0.1');
    await once(r.server, 'listening');
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hooks/alerts`;
    return r;
  }

  /** Waits until at least n messages arrived. */
  async waitForCount(n: number, timeoutMs = 15_000): Promise<WebhookMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      if (Date.now() > deadline)
        throw new Error(
          `expected ${n} webhook message(s), got ${this.messages.length}: ${JSON.stringify(this.messages.map((m) => m.text))}; not JSON: ${JSON.stringify(this.rejected)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.messages;
  }

  close(): Promise<void> {
    return closeHttp(this.server);
  }
}

/** Stops an HTTP receiver without waiting for a client that keeps a request open. */
function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server (nodemailer's smtp-server) on 127.0.0.1 that keeps every message it accepts. */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  private server!: SMTPServer;
  url = '';

  static async start(): Promise<SmtpReceiver> {
    const r = new SmtpReceiver();
    r.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (raw += c));
        stream.on('end', () => {
          r.mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((a) => a.address), raw });
          callback();
        });
      },
    });
    r.server.listen(0, '127.0.0.1');
    await once(r.server.server, 'listening');
    r.url = `smtp://127.0.0.1:${(r.server.server.address() as AddressInfo).port}`;
    return r;
  }

  async waitForCount(n: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} mail(s), got ${this.mails.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.mails;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A push monitor (Uptime Kuma's push monitor, Healthchecks): counts the pings it gets; alerts, outside, when they stop. */
export class PushMonitor {
  readonly pings: Array<{ method: string; path: string }> = [];
  private server!: Server;
  url = '';

  static async start(): Promise<PushMonitor> {
    const r = new PushMonitor();
    r.server = createServer((req, res) => {
      r.pings.push({ method: req.method ?? '', path: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    });
    r.server.listen(0, '127.0.0.1');
    await once(r.server, 'listening');
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/api/push/kiroku-token?status=up`;
    return r;
  }

  close(): Promise<void> {
    return closeHttp(this.server);
  }
}
