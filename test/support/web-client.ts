/**
 * A minimal browser over fetch: keeps cookies, sends the Fetch-Metadata
 * header a browser sends for same-origin form posts, reads CSRF tokens from
 * pages the way a browser's form would submit them. Nothing is switched off
 * in the app for it.
 */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  setCookies: string[];
}

export class WebClient {
  readonly cookies = new Map<string, string>();
  lastCsrf?: string;

  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    method: string,
    path: string,
    options: { form?: Record<string, string>; json?: unknown; body?: string; multipart?: FormData; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'text/html', ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}) };
    let body: string | FormData | undefined;
    if (method !== 'GET' && method !== 'HEAD') headers['sec-fetch-site'] = 'same-origin';
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      body = options.body;
    } else if (options.multipart) {
      body = options.multipart; // fetch sets the multipart content type with its boundary
    }
    Object.assign(headers, options.headers);
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.lastCsrf = token[1];
    return { status: res.status, headers: res.headers, text, setCookies };
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request('GET', path, { headers });
  }

  /** Posts a file upload form (multipart) the way the page's form would: `_csrf` first, then the file. */
  async upload(path: string, file: { name: string; type: string; data: Uint8Array }, csrf: string | null = this.lastCsrf ?? null): Promise<Reply> {
    const form = new FormData();
    if (csrf !== null) form.append('_csrf', csrf);
    form.append('file', new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
    return this.request('POST', path, { multipart: form });
  }

  /** A GET whose body is kept as bytes (downloads). */
  async download(path: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const res = await fetch(this.base + path, { headers: { cookie: this.cookieHeader() }, redirect: 'manual' });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  /** Posts a form the way the page's own form would: with the CSRF token of the last page loaded. */
  async submit(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    if (!this.lastCsrf) await this.get('/login');
    return this.request('POST', path, { form: { _csrf: this.lastCsrf!, ...form }, headers });
  }

  async signup(email: string, password: string, displayName = 'Test User'): Promise<Reply> {
    await this.get('/signup');
    return this.submit('/signup', { email, password, displayName });
  }

  /** Signs in through the form; a browser that already has a session posts with that session's token. */
  async login(email: string, password: string): Promise<Reply> {
    if ((await this.get('/login')).status === 302) await this.get('/account');
    return this.submit('/login', { email, password });
  }

  async logout(): Promise<Reply> {
    await this.get('/account');
    return this.submit('/logout', {});
  }
}
