import { join } from 'node:path';
import { Database } from '@kiroku/persistence';
import { tempDir } from '@kiroku/testing';
import yazl from 'yazl';
import { AccountLinks, Accounts, SessionStore, User } from '../src/modules/auth';
import { sha256 } from '../src/modules/web';
import { ApiClient } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { listRoutes, RouteInfo } from './support/routes';
import { startTestApp, TestApp } from './support/test-app';
import { Reply, WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

/** What a person or a script could send to get a control character, an invalid string or a huge value stored. */
const HOSTILE: Array<[label: string, value: string]> = [
  ['NUL', '/e\u0000'],
  ['escape sequence (C0)', 'a\u001b[2Jb'],
  ['DEL', 'a\u007fb'],
  ['C1 next line', 'a\u0085b'],
  ['C1 control sequence introducer', 'a\u009b31mb'],
  ['lone surrogate', 'a\ud800b'],
  ['line break', 'a\r\nb'],
  ['right-to-left override', 'a\u202egnp.exe'],
  ['1 MB', 'x'.repeat(1_000_000)],
];
/** Query strings and paths share the request head's 16 KiB: a long value there is long, not 1 MB (that is a 431). */
const HOSTILE_IN_ADDRESS = HOSTILE.map(([label, value]): [string, string] => (value.length > 10_000 ? ['8 KB', 'x'.repeat(8000)] : [label, value]));
/** Values the text rule refuses in any field (the line break and the override are text in some fields). */
const REFUSED = new Set(['NUL', 'escape sequence (C0)', 'DEL', 'C1 next line', 'C1 control sequence introducer', 'lone surrogate', '1 MB']);

// eslint-disable-next-line no-control-regex -- the pattern exists to find control characters
const STORED_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\p{Cs}/u;

/**
 * Percent-encodes as a browser's UTF-8 would, except that a lone surrogate is sent as the three bytes it would
 * take (%ED%A0%80, which a strict UTF-8 reader refuses): what a hand-made request can put on the wire.
 */
function encode(value: string): string {
  if (!/\p{Cs}/u.test(value)) return encodeURIComponent(value);
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff)
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    else out += encodeURIComponent(char);
  }
  return out;
}

const urlencoded = (form: Record<string, string>) =>
  Object.entries(form)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');

function zipOf(files: Array<[string, string]>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of files) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Every string stored in any table that holds a control character or a lone surrogate: table, column and where. */
async function storedControls(db: Database, engine: string): Promise<string[]> {
  const tables: Array<{ name: string }> = await db.dataSource.query(
    engine === 'sqlite'
      ? `SELECT "name" FROM "sqlite_master" WHERE "type" = 'table'`
      : `SELECT "table_name" AS "name" FROM "information_schema"."tables" WHERE "table_schema" = current_schema() AND "table_type" = 'BASE TABLE'`,
  );
  const found: string[] = [];
  for (const { name } of tables) {
    const rows: Array<Record<string, unknown>> = await db.dataSource.query(`SELECT * FROM "${name}"`);
    for (const row of rows)
      for (const [column, value] of Object.entries(row)) {
        if (typeof value !== 'string') continue;
        const at = value.search(STORED_CONTROL);
        if (at >= 0) found.push(`${name}.${column}: ${JSON.stringify(value.slice(Math.max(0, at - 20), at + 20))}`);
      }
  }
  return found;
}

describeEachEngine('hostile text in every field of every route', (engine) => {
  let t: TestApp;
  let db: Database;
  let admin: WebClient;
  let alice: WebClient;
  let api: ApiClient;
  let victimId: string;
  let signups = 0;
  /** What went wrong in the walk of the current test, all reported at once. */
  let failures: string[] = [];
  beforeEach(() => {
    failures = [];
  });

  beforeAll(async () => {
    // With a log folder, so that /admin/logs shows (and reads) its search form.
    t = await startTestApp({ ...(await freshDatabase(engine)), LOG_DIR: join(tempDir(), 'logs') });
    db = t.app.get(Database);
    admin = new WebClient(t.url);
    await admin.signup('admin@example.com', PASSWORD, 'Admin');
    alice = new WebClient(t.url);
    await alice.signup('alice@example.com', PASSWORD, 'Alice');
    await new WebClient(t.url).signup('victim@example.com', PASSWORD, 'Victim');
    victimId = (await db.manager.findOneByOrFail(User, { email: 'victim@example.com' })).id;
    await alice.get('/account');
    await alice.submit('/account/tokens', { name: 'api' });
    api = new ApiClient(t.url, /id="new-token">([^<]+)</.exec((await alice.get('/account')).text)![1]);
  });
  afterAll(() => t.close());

  /** Signs in through the form; the throttle's counts go first (the walk fails sign-ins on purpose, from one address). */
  const signIn = async (client: WebClient, email: string) => {
    await db.dataSource.query(`DELETE FROM "login_throttles"`);
    const reply = await client.login(email, PASSWORD);
    if (reply.status !== 303) throw new Error(`cannot sign ${email} in again: ${reply.status}`);
    await client.get('/account'); // the new session's CSRF token
  };

  /** An account of its own for each route, so that what one route does (a new password, a logout) leaves the others alone. */
  let users = 0;
  const freshUser = async (): Promise<{ client: WebClient; email: string }> => {
    const email = `walker${++users}@example.com`;
    const created = await t.app.get(Accounts).create({ email, displayName: `Walker ${users}`, password: PASSWORD });
    if ('errors' in created) throw new Error(JSON.stringify(created.errors));
    const client = new WebClient(t.url);
    await signIn(client, email);
    return { client, email };
  };
  const callerOf = async (route: RouteInfo): Promise<{ client: WebClient; email: string }> =>
    route.access === 'admin'
      ? { client: admin, email: 'admin@example.com' }
      : route.access === 'public'
        ? { client: new WebClient(t.url), email: '' }
        : freshUser();

  const newNote = async (client: WebClient): Promise<string> => {
    await client.get('/notes/new');
    const reply = await client.submit('/notes', { title: 'target', body: '- [ ] task', tags: '', visibility: 'private' });
    return reply.headers.get('location')!.split('/').pop()!;
  };

  /** Real values for a route's parameters (the caller's own note, token, other session), so that a refusal cannot be a mere 404. */
  const concrete = async (route: RouteInfo, { client, email }: { client: WebClient; email: string }): Promise<Record<string, string>> => {
    const params: Record<string, string> = {};
    for (const [, name] of route.path.matchAll(/:(\w+)/g)) params[name] = 'x';
    if (route.path.startsWith('/api/v1/notes/:id')) params.id = (await api.call('POST', '/api/v1/notes', { title: 'target', body: 'body' })).body.id;
    // A visitor's note page is someone's public note.
    if (route.path.startsWith('/notes/:id'))
      params.id = email ? await newNote(client) : (await api.call('POST', '/api/v1/notes', { title: 'public', body: 'body', visibility: 'public' })).body.id;
    if ('version' in params) params.version = '1';
    if ('n' in params) params.n = '0';
    if (route.path.startsWith('/admin/users/:id')) params.id = victimId;
    if (route.path.startsWith('/admin/backups/:id')) params.id = '00000000-0000-0000-0000-000000000000';
    if (route.path.startsWith('/account/tokens/:id')) {
      await client.get('/account');
      await client.submit('/account/tokens', { name: 'to revoke' });
      params.id = /action="\/account\/tokens\/([0-9a-f-]{36})\/revoke"/.exec((await client.get('/account')).text)![1];
    }
    if (route.path.startsWith('/account/sessions/:id')) {
      const other = new WebClient(t.url);
      await signIn(other, email);
      params.id = t.app.get(SessionStore).handleOf(sha256(other.cookies.get('kiroku_sid')!));
    }
    return params;
  };
  const pathOf = (route: RouteInfo, params: Record<string, string>) => route.path.replace(/:(\w+)/g, (_m, name: string) => params[name]);

  /** What an ordinary request would send in each field, so that the hostile value is the only thing wrong. */
  const benign = (field: string, json: boolean): unknown => {
    const values: Record<string, unknown> = {
      title: 'benign',
      body: 'benign body',
      tags: json ? ['benign'] : 'benign',
      visibility: 'private',
      pinned: true,
      name: 'benign',
      email: `user${++signups}@example.com`,
      password: PASSWORD,
      displayName: 'Benign',
      currentPassword: PASSWORD,
      newPassword: PASSWORD,
      locale: 'en',
      timeZone: 'UTC',
      role: 'user',
      next: '/notes',
    };
    return Object.hasOwn(values, field) ? values[field] : '';
  };

  /** A script's request with the personal access token; the answer as text (/api/docs is a page). */
  const apiRequest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(t.url + path, {
      method,
      headers: { authorization: `Bearer ${api.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };

  const isSignedIn = async (client: WebClient) => (await client.get('/account')).status === 200;

  /** Sends one request to a route, as its caller would: JSON with the token for the API, a form with the page's CSRF token otherwise. */
  const send = async (
    route: RouteInfo,
    client: WebClient,
    path: string,
    fields: Record<string, unknown>,
  ): Promise<Reply | { status: number; text: string }> => {
    if (route.path.startsWith('/api/')) return apiRequest(route.method, path, route.inputs.body.length ? fields : undefined);
    if (client.lastCsrf === undefined || route.access === 'public') await client.get('/login');
    const form = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
    return client.request(route.method, path, {
      body: urlencoded({ _csrf: client.lastCsrf!, ...form }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  };

  let sent = 0;
  const record = (what: string, status: number, text: string) => {
    sent++;
    if (status >= 500) failures.push(`${what}: ${status} ${text.slice(0, 200)}`);
  };

  it('walks every POST and PATCH route with hostile values in each field it reads (and in its path): no 5xx, the session kept', async () => {
    const writes = listRoutes(t.app).filter((r) => r.method === 'POST' || r.method === 'PATCH');
    sent = 0;
    const pagesAfterWork: string[] = [];
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST /account/tokens',
        'POST /signup',
        'POST /notes',
        'PATCH /api/v1/notes/:id',
        'POST /account/notes/import',
        'POST /admin/users/:id/role',
      ]),
    );
    for (const route of writes) {
      const json = route.path.startsWith('/api/');
      const caller = await callerOf(route);
      const fields = route.inputs.body.length ? route.inputs.body : ['unread'];
      const base = () => Object.fromEntries(route.inputs.body.map((f) => [f, benign(f, json)]));
      // Public forms are sent as a new visitor would, each time; the others by the route's own account.
      const clientOf = () => (route.access === 'public' ? new WebClient(t.url) : caller.client);
      const signedIn = route.access !== 'public' && !json;
      // The route's own effect on the session (logout ends it by design): what a hostile value may not add to.
      let params = await concrete(route, caller);
      const control = await send(route, clientOf(), pathOf(route, params), base());
      record(`${route.method} ${route.path} (benign)`, control.status, control.text);
      // Post/Redirect/Get: a form that did its work answers a redirect, so that a reload cannot send it again.
      if (!json && control.status < 300 && 'headers' in control && /html/.test(control.headers.get('content-type') ?? ''))
        pagesAfterWork.push(`${route.method} ${route.path}`);
      const keepsSession = !signedIn || (await isSignedIn(caller.client));
      const attempts: Array<{ what: string; params?: Record<string, string>; body: Record<string, unknown>; field?: string; label: string }> = [];
      for (const field of fields)
        for (const [label, value] of HOSTILE) {
          const body = { ...base(), [field]: route.inputs.arrays.includes(field) ? [value] : value };
          attempts.push({ what: `${field} = ${label}`, body, field, label });
        }
      for (const name of Object.keys(params))
        for (const [label, value] of HOSTILE_IN_ADDRESS) attempts.push({ what: `:${name} = ${label}`, params: { [name]: encode(value) }, body: base(), label });
      for (const attempt of attempts) {
        if (signedIn && !keepsSession && !(await isSignedIn(caller.client))) await signIn(caller.client, caller.email);
        // A route that used up its target (a revoked token, another session ended) gets a new one.
        if (!keepsSession || route.path.startsWith('/account/')) params = await concrete(route, caller);
        const reply = await send(route, clientOf(), pathOf(route, { ...params, ...attempt.params }), attempt.body);
        const what = `${route.method} ${route.path} with ${attempt.what}`;
        record(what, reply.status, reply.text);
        if (signedIn && keepsSession && !(await isSignedIn(caller.client))) {
          failures.push(`${what}: the session ended`);
          await signIn(caller.client, caller.email);
        }
        // The API names the field it refuses.
        if (json && attempt.field && route.inputs.body.includes(attempt.field) && REFUSED.has(attempt.label)) {
          const problem = JSON.parse(reply.text) as { errors?: Array<{ field: string }> } | null;
          if (reply.status !== 400 || !problem?.errors?.some((e) => e.field === attempt.field || e.field.startsWith(`${attempt.field}[`)))
            failures.push(`${what}: not a 400 naming ${attempt.field} (${reply.status} ${reply.text.slice(0, 200)})`);
        }
      }
    }
    expect(failures).toEqual([]);
    // The one exception: the editor's script fetches the preview, a fragment of HTML, and no page is ever left on it.
    expect(pagesAfterWork).toEqual(['POST /notes/preview']);
    expect(sent).toBeGreaterThan(writes.length * HOSTILE.length);
    expect((await api.call('GET', '/api/v1/me')).status).toBe(200);
    // Over 1,000 requests, some of them making accounts (an argon2 hash each): 37 s on SQLite alone on two cores.
  }, 240_000);

  it('walks every GET route with hostile values in each query parameter it reads (and in its path): no 5xx, the session kept', async () => {
    const reads = listRoutes(t.app).filter((r) => r.method === 'GET');
    sent = 0;
    expect(reads.map((r) => r.path)).toEqual(expect.arrayContaining(['/notes', '/api/v1/notes', '/admin/logs']));
    for (const route of reads) {
      const json = route.path.startsWith('/api/');
      const caller = await callerOf(route);
      const params = await concrete(route, caller);
      const path = pathOf(route, params);
      let names = route.inputs.query;
      if (route.inputs.wholeQuery) {
        // The handler reads the query as it comes: the parameters its page's forms send are the ones it reads.
        const page = await caller.client.get(path);
        names = [...new Set([...page.text.matchAll(/<(?:input|select|textarea)[^>]*\sname="([^"]+)"/g)].map((m) => m[1]).filter((n) => n !== '_csrf'))];
        expect({ route: route.path, status: page.status, names: names.length > 0 }).toEqual({ route: route.path, status: 200, names: true });
      }
      const attempts: Array<[string, string]> = [];
      for (const name of [...names, 'unread'])
        for (const [label, value] of HOSTILE_IN_ADDRESS) attempts.push([`?${name} = ${label}`, `${path}?${encode(name)}=${encode(value)}`]);
      for (const name of Object.keys(params))
        for (const [label, value] of HOSTILE_IN_ADDRESS) attempts.push([`:${name} = ${label}`, pathOf(route, { ...params, [name]: encode(value) })]);
      for (const [what, target] of attempts) {
        const reply = json ? await apiRequest('GET', target) : await caller.client.get(target);
        record(`GET ${route.path} with ${what}`, reply.status, reply.text);
        if (!json && route.access !== 'public' && !(await isSignedIn(caller.client))) {
          failures.push(`GET ${route.path} with ${what}: the session ended`);
          await signIn(caller.client, caller.email);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(reads.length * HOSTILE.length);
    // The API names the parameter it refuses.
    const refused = await api.call('GET', `/api/v1/notes?q=${encode('plum\u0000')}`);
    expect(refused).toMatchObject({ status: 400, body: { errors: [{ field: 'q' }] } });
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('imports no control character from a zip: file names, front matter and bodies (no 5xx)', async () => {
    const imports = listRoutes(t.app).filter((r) => r.method === 'POST' && r.inputs.file);
    expect(imports.map((r) => r.path)).toEqual(['/account/notes/import']);
    for (const route of imports)
      for (const [label, value] of HOSTILE) {
        const zips: Array<[string, Array<[string, string]>]> = [
          ['file name', [[`note ${value.slice(0, 100)}.md`, 'body']]],
          ['front matter title', [['a.md', `---\ntitle: ${JSON.stringify(value)}\n---\nbody`]]],
          ['front matter tags', [['a.md', `---\ntags: [${JSON.stringify(value)}]\n---\nbody`]]],
          ['front matter visibility', [['a.md', `---\nvisibility: ${JSON.stringify(value)}\n---\nbody`]]],
          ['body', [['a.md', `---\ntitle: t\n---\n${value.slice(0, 90_000)}`]]],
        ];
        for (const [where, files] of zips) {
          await alice.get('/account');
          const reply = await alice.upload(route.path, { name: 'notes.zip', type: 'application/zip', data: await zipOf(files) });
          record(`import with ${label} in the ${where}`, reply.status, reply.text);
          if (!(await isSignedIn(alice))) failures.push(`import with ${label} in the ${where}: the session ended`);
        }
      }
    expect(failures).toEqual([]);
  });

  it('keeps what /account shows of a device printable: a User-Agent with bytes Node reads as C1 controls', async () => {
    const device = new WebClient(t.url);
    await device.get('/login');
    const reply = await device.submit('/login', { email: 'alice@example.com', password: PASSWORD }, { 'user-agent': 'Evil\u0085\u009b31m/1.0' });
    expect(reply.status).toBe(303);
    expect((await device.get('/account')).text).toContain('Evil31m/1.0');
  });

  it('refuses hostile values behind a valid invitation and a valid reset link, naming the field; the links still work', async () => {
    // The walk above has no valid link, so it reaches these forms' fields only behind a refused token.
    const links = t.app.get(AccountLinks);
    const adminId = (await db.manager.findOneByOrFail(User, { email: 'admin@example.com' })).id;
    const invited = await links.invite('invited@example.com', adminId, null);
    if (!('token' in invited)) throw new Error(JSON.stringify(invited.errors));
    const member = await freshUser();
    const reset = (await links.issueReset((await db.manager.findOneByOrFail(User, { email: member.email })).id, adminId, null))!;
    const post = async (path: string, form: Record<string, string>) => {
      const visitor = new WebClient(t.url);
      await visitor.get('/login'); // the visitor's CSRF token
      return visitor.request('POST', path, {
        body: urlencoded({ _csrf: visitor.lastCsrf!, ...form }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    };
    const attempts: Array<[what: string, path: string, form: Record<string, string>, field: string | null]> = [];
    for (const [label, value] of HOSTILE) {
      attempts.push([`invite token = ${label}`, '/invite', { token: value, displayName: 'Invited', password: PASSWORD }, null]);
      attempts.push([`reset token = ${label}`, '/reset', { token: value, password: PASSWORD }, null]);
      // A value the rule takes would spend the link: a line break in a password, and a lone surrogate, which a form
      // body cannot carry (its bytes are read as U+FFFD, text).
      if (!REFUSED.has(label) || label === 'lone surrogate') continue;
      attempts.push([`invite displayName = ${label}`, '/invite', { token: invited.token, displayName: value, password: PASSWORD }, 'displayName']);
      attempts.push([`invite password = ${label}`, '/invite', { token: invited.token, displayName: 'Invited', password: value }, 'password']);
      attempts.push([`reset password = ${label}`, '/reset', { token: reset.token, password: value }, 'password']);
    }
    for (const [what, path, form, field] of attempts) {
      const reply = await post(path, form);
      record(what, reply.status, reply.text);
      if (field && (reply.status !== 400 || !reply.text.includes(`id="${field}-error"`)))
        failures.push(`${what}: not a 400 marking ${field} (${reply.status})`);
      if (!field && reply.status !== 404) failures.push(`${what}: not the unknown-link page (${reply.status})`);
    }
    expect(failures).toEqual([]);
    // Nothing refused spent a link: both still work.
    expect((await post('/invite', { token: invited.token, displayName: 'Invited', password: PASSWORD })).status).toBe(303);
    expect((await post('/reset', { token: reset.token, password: `${PASSWORD} renewed` })).status).toBe(303);
  });

  it('stored no control character and no lone surrogate anywhere, after all of the above', async () => {
    expect(await storedControls(db, engine)).toEqual([]);
  });

  it('refuses a token name with a NUL (the report: a 500 on PostgreSQL) on the form, naming the field, and stores nothing', async () => {
    await alice.get('/account');
    const reply = await alice.request('POST', '/account/tokens', {
      body: `_csrf=${encodeURIComponent(alice.lastCsrf!)}&name=%2Fe%00`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/id="token-name" name="name" required maxlength="100" aria-invalid="true" aria-describedby="tokenName-error"/);
    expect(reply.text).toContain('Remove the control characters (invisible characters such as NUL) from this field.');
    const rows: unknown[] = await db.dataSource.query(`SELECT * FROM "api_tokens" WHERE "name" LIKE '/e%'`);
    expect(rows).toEqual([]);
  });

  it('answers the API with a 400 naming the field, and forms with the field marked', async () => {
    const note = await api.call('POST', '/api/v1/notes', { title: 'a\u0085', body: 'ok' });
    expect(note).toMatchObject({ status: 400, body: { errors: [{ field: 'title', message: expect.stringMatching(/control characters/) }] } });
    expect(note.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const surrogate = await api.call('POST', '/api/v1/notes', undefined, '{"title":"t","body":"half of a pair: \\ud800"}');
    expect(surrogate).toMatchObject({ status: 400, body: { errors: [{ field: 'body', message: expect.stringMatching(/unpaired surrogate/) }] } });
    const tabs = await api.call('POST', '/api/v1/notes', { title: 'tabs and lines', body: 'a\tb\r\nc' });
    expect(tabs.status).toBe(201);

    const visitor = new WebClient(t.url);
    await visitor.get('/signup');
    const signup = await visitor.submit('/signup', { email: 'new@example.com', password: PASSWORD, displayName: 'Eve\u009b31m' });
    expect(signup.status).toBe(400);
    expect(signup.text).toMatch(/<p class="field-error" id="displayName-error">Remove the control characters/);
    await alice.get('/notes/new');
    const form = await alice.submit('/notes', { title: 'a\u0000', body: 'x', tags: '', visibility: 'private' });
    expect(form.status).toBe(400);
    expect(form.text).toMatch(/<p class="field-error" id="title-error">Remove the control characters/);
    const search = await alice.get(`/notes?q=${encode('plum\u0000\u0085 137')}`);
    expect(search.status).toBe(400);
    expect(search.text).toContain('The search holds control characters (invisible characters such as NUL): remove them and search again.');
    expect(search.text).toMatch(/<input id="q" name="q" type="search" value="plum 137"/);
    const login = await new WebClient(t.url).login('alice@example.com\u0000', PASSWORD);
    expect(login.status).toBe(400);
    expect(login.text).toContain('The email address holds control characters');
  });
});
