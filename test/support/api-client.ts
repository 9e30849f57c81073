import { WebClient } from './web-client';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read as any: the expectations are the check
export type Json = any;

/** A script's view of the API: a personal access token made the way a person makes one. */
export class ApiClient {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  static async forNewUser(base: string, email: string, password = 'a long enough passphrase'): Promise<{ api: ApiClient; web: WebClient }> {
    const web = new WebClient(base);
    await web.signup(email, password);
    await web.get('/account');
    await web.submit('/account/tokens', { name: 'tests' });
    const token = /id="new-token">([^<]+)</.exec((await web.get('/account')).text)![1];
    return { api: new ApiClient(base, token), web };
  }

  async call(method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; headers: Headers; body: Json }> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }
}
