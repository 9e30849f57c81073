import { Database } from '@kiroku/persistence';
import { sha256 } from '../src/modules/web';
import { SessionStore, User } from '../src/modules/auth';
import { describeEachEngine, freshDatabase } from './support/engines';
import { listRoutes } from './support/routes';
import { databaseDigest } from './support/snapshot';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

describeEachEngine('access control and CSRF', (engine) => {
  let t: TestApp;
  let db: Database;
  let admin: WebClient;
  let alice: WebClient;
  let anon: WebClient;
  let aliceId: string;
  let noteId: string;
  let trashedId: string;
  let teamId: string;
  let teamEditableId: string;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    db = t.app.get(Database);
    admin = new WebClient(t.url);
    await admin.signup('admin@example.com', PASSWORD, 'Admin');
    alice = new WebClient(t.url);
    await alice.signup('alice@example.com', PASSWORD, 'Alice');
    aliceId = (await db.manager.findOneByOrFail(User, { email: 'alice@example.com' })).id;
    anon = new WebClient(t.url);
    await anon.get('/login');
    await alice.get('/notes/new');
    const created = await alice.submit('/notes', { title: 'Private', body: 'mine', tags: 'x', visibility: 'private' });
    noteId = created.headers.get('location')!.split('/').pop()!;
    const toTrash = await alice.submit('/notes', { title: 'Trashed', body: 'old', tags: '', visibility: 'private' });
    trashedId = toTrash.headers.get('location')!.split('/').pop()!;
    await alice.submit(`/notes/${trashedId}/delete`, {});
    await alice.get('/notes/new');
    const team = await alice.submit('/notes', { title: 'Team', body: 'ours', tags: '', visibility: 'team' });
    teamId = team.headers.get('location')!.split('/').pop()!;
    const editable = await alice.submit('/notes', { title: 'Team, editable', body: 'ours', tags: '', visibility: 'team', editableByTeam: '1' });
    teamEditableId = editable.headers.get('location')!.split('/').pop()!;
  });
  afterAll(() => t.close());

  it('marks every route public, signed-in or admin (deny by default)', () => {
    const routes = listRoutes(t.app);
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.filter((r) => !r.access).map((r) => `${r.method} ${r.path} (${r.handler})`)).toEqual([]);
  });

  /** Real values for route parameters, so that a refusal cannot be a mere 404. */
  const concrete = async (path: string) => {
    const tokenId = (await alice.get('/account')).text.match(/action="\/account\/tokens\/([0-9a-f-]{36})\/revoke"/)?.[1];
    return path
      .replace('/notes/trash/:id', `/notes/trash/${trashedId}`)
      .replace('/account/sessions/:id', `/account/sessions/${t.app.get(SessionStore).handleOf(sha256(alice.cookies.get('kiroku_sid')!))}`)
      .replace('/account/tokens/:id', `/account/tokens/${tokenId ?? '00000000-0000-0000-0000-000000000000'}`)
      .replace('/admin/users/:id', `/admin/users/${aliceId}`)
      .replace('/notes/:id', `/notes/${noteId}`);
  };

  it('refuses every unsafe route with a missing, foreign or cross-site token: 403 and no change in the database', async () => {
    await alice.get('/account');
    await alice.submit('/account/tokens', { name: 'ci' });
    const unsafe = listRoutes(t.app).filter((r) => r.method !== 'GET');
    expect(unsafe.map((r) => r.path)).toEqual(expect.arrayContaining(['/login', '/signup', '/logout', '/account/password', '/admin/users/:id/role']));
    const adminToken = (await admin.get('/account'), admin.lastCsrf!);
    for (const route of unsafe) {
      const path = await concrete(route.path);
      const client = route.path.startsWith('/admin') ? admin : alice;
      const own = (await client.get('/account'), client.lastCsrf!);
      const foreign = client === admin ? (await alice.get('/account'), alice.lastCsrf!) : adminToken;
      const form = {
        role: 'admin',
        name: 'x',
        email: 'alice@example.com',
        password: PASSWORD,
        displayName: 'x',
        currentPassword: PASSWORD,
        newPassword: 'brand new passphrase',
        locale: 'ja',
        timeZone: 'Asia/Tokyo',
      };
      const attempts: Array<{ label: string; body: Record<string, string>; headers: Record<string, string> }> = [
        { label: 'no token', body: form, headers: {} },
        { label: 'foreign token', body: { ...form, _csrf: foreign }, headers: {} },
        { label: 'cross-site', body: { ...form, _csrf: own }, headers: { 'sec-fetch-site': 'cross-site' } },
        { label: 'foreign origin, no fetch metadata', body: { ...form, _csrf: own }, headers: { 'sec-fetch-site': '', origin: 'http://evil.example' } },
        { label: 'no origin, no fetch metadata', body: { ...form, _csrf: own }, headers: { 'sec-fetch-site': '' } },
      ];
      for (const attempt of attempts) {
        const before = await databaseDigest(db);
        const reply = await client.request(route.method, path, { form: attempt.body, headers: attempt.headers });
        expect({ route: `${route.method} ${path}`, attempt: attempt.label, status: reply.status }).toEqual({
          route: `${route.method} ${path}`,
          attempt: attempt.label,
          status: 403,
        });
        expect(await databaseDigest(db)).toEqual(before);
      }
    }
    // The refusals were recorded.
    const refusals = await db.dataSource.query(`SELECT count(*) AS n FROM "audit_events" WHERE "type" = 'csrf.refused'`);
    expect(Number(refusals[0].n)).toBeGreaterThanOrEqual(unsafe.length * 5);
    // The same-origin form post with its own token is accepted (the walk above refused for the right reason).
    await alice.get('/account');
    expect((await alice.submit('/account/preferences', { locale: 'en', timeZone: 'UTC' })).status).toBe(303);
  });

  it('accepts Origin equal to PUBLIC_URL when a browser sends no Fetch Metadata', async () => {
    await alice.get('/account');
    const reply = await alice.submit('/account/preferences', { locale: '', timeZone: 'UTC' }, { 'sec-fetch-site': '', origin: 'http://localhost:8888' });
    expect(reply.status).toBe(303);
  });

  it('needs the X-CSRF-Token header and JSON for cookie-authenticated API writes (415 otherwise); bearer calls need neither', async () => {
    await alice.get('/account');
    const textual = await alice.request('POST', '/api/v1/me', {
      body: 'x',
      headers: { 'content-type': 'text/plain', accept: 'application/json', 'x-csrf-token': alice.lastCsrf! },
    });
    expect(textual.status).toBe(415);
    expect(textual.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const noHeader = await alice.request('POST', '/api/v1/me', { json: {} });
    expect(noHeader.status).toBe(403);
    await alice.get('/account');
    const withHeader = await alice.request('POST', '/api/v1/me', { json: {}, headers: { 'x-csrf-token': alice.lastCsrf! } });
    expect(withHeader.status).toBe(404); // passed CSRF; there is no such route
    await alice.get('/account');
    await alice.submit('/account/tokens', { name: 'script' });
    const token = /<code class="token" id="new-token">([^<]+)<\/code>/.exec((await alice.get('/account')).text)![1];
    const bearer = await fetch(`${t.url}/api/v1/me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
      body: 'x',
    });
    expect(bearer.status).toBe(404);
  });

  const MATRIX: Array<[string, number, number, number]> = [
    // path, anonymous, user (Alice, who owns the private note), admin (someone else)
    ['/', 302, 302, 302],
    ['/notes', 302, 200, 200],
    ['/notes/new', 302, 200, 200],
    ['/notes/trash', 302, 200, 200],
    ['/notes/trash/empty', 302, 200, 303], // the admin's trash is empty: nothing to confirm, back to it
    ['/notes/trash/:id', 302, 200, 404],
    ['/notes/trash/:id/delete', 302, 200, 404],
    ['/notes/:id', 404, 200, 404],
    ['/notes/:id/edit', 302, 200, 404],
    ['/notes/:id/history', 302, 200, 404], // a public note's history too: earlier versions may hold what was taken out
    ['/notes/:id/history/:version', 302, 200, 404],
    ['/api/v1/notes', 401, 200, 200],
    ['/api/v1/notes/:id', 401, 200, 404],
    ['/api/v1/notes/:id/revisions', 401, 200, 404],
    ['/api/v1/notes/:id/revisions/:version', 401, 200, 404],
    ['/api/docs', 200, 200, 200],
    ['/api/docs/json', 200, 200, 200],
    ['/login', 200, 302, 302],
    ['/signup', 200, 302, 302],
    ['/invite', 404, 404, 404], // without a link's secret: the page that says there is no such link
    ['/reset', 404, 404, 404],
    ['/account', 302, 200, 200],
    ['/account/notes/export', 302, 200, 200],
    ['/account/tokens', 302, 200, 200],
    ['/account/tokens/:id/revoke', 302, 200, 404],
    ['/admin', 302, 403, 200],
    ['/admin/users', 302, 403, 200],
    ['/admin/users/:id/disable', 302, 403, 200],
    ['/admin/audit', 302, 403, 200],
    ['/admin/backups', 302, 403, 200],
    ['/admin/logs', 302, 403, 200],
    ['/admin/alerts', 302, 403, 200],
    ['/admin/metrics', 302, 403, 200],
    ['/metrics', 401, 401, 401], // a bearer token or an allowed address, never a session
    ['/api/v1/me', 401, 200, 200],
    ['/health/live', 200, 200, 200],
    ['/health/ready', 200, 200, 200],
    ['/health/startup', 200, 200, 200],
    ['/no/such/page', 404, 404, 404],
  ];

  it.each(MATRIX)('GET %s answers anonymous %i, user %i, admin %i', async (path, anonymous, user, adminStatus) => {
    const statuses = [];
    const concretePath = (await concrete(path)).replace(':id', noteId).replace(':version', '1');
    for (const c of [anon, alice, admin]) statuses.push((await c.get(concretePath)).status);
    expect(statuses).toEqual([anonymous, user, adminStatus]);
  });

  // Team notes: the same routes for a team note the team may only read (:team) and one it may edit (:editable).
  const TEAM_MATRIX: Array<[string, number, number, number]> = [
    // path, anonymous, user (Alice, who owns the notes), admin (another member)
    ['/notes/:team', 404, 200, 200],
    ['/notes/:team/edit', 302, 200, 403], // readable, not editable: only the owner (or, when allowed, members) edits
    ['/notes/:team/history', 302, 200, 403],
    ['/notes/:team/history/1', 302, 200, 403],
    ['/notes/:editable', 404, 200, 200],
    ['/notes/:editable/edit', 302, 200, 200],
    ['/notes/:editable/history', 302, 200, 200],
    ['/notes/:editable/history/1', 302, 200, 200],
    ['/notes?scope=team', 302, 200, 200],
    ['/notes?scope=all&q=ours', 302, 200, 200],
    ['/api/v1/notes/:team', 401, 200, 200],
    ['/api/v1/notes/:team/revisions', 401, 200, 403],
    ['/api/v1/notes/:editable/revisions', 401, 200, 200],
    ['/api/v1/notes/:editable/revisions/1', 401, 200, 200],
    ['/api/v1/notes?scope=team', 401, 200, 200],
    ['/api/v1/notes?scope=nobody', 401, 400, 400],
  ];

  it.each(TEAM_MATRIX)('GET %s answers anonymous %i, user %i, admin %i', async (path, anonymous, user, adminStatus) => {
    const concretePath = path.replace(':team', teamId).replace(':editable', teamEditableId);
    const statuses = [];
    for (const c of [anon, alice, admin]) statuses.push((await c.get(concretePath)).status);
    expect(statuses).toEqual([anonymous, user, adminStatus]);
  });

  it('covers every GET route in the matrix', () => {
    const gets = listRoutes(t.app)
      .filter((r) => r.method === 'GET')
      .map((r) => r.path);
    expect(gets.filter((p) => !MATRIX.some(([m]) => m === p))).toEqual([]);
  });

  it('sends signed-out browsers to the sign-in page and back', async () => {
    const reply = await anon.get('/account');
    expect(reply.headers.get('location')).toBe('/login?next=%2Faccount');
    const api = await anon.request('GET', '/api/v1/me', { headers: { accept: 'application/json' } });
    expect(api.headers.get('www-authenticate')).toBe('Bearer');
    expect(JSON.parse(api.text)).toMatchObject({ status: 401, title: 'Unauthorized' });
  });

  it('takes access away from a demoted or disabled account on its next request, and ends its sessions', async () => {
    const bob = new WebClient(t.url);
    await bob.signup('bob@example.com', PASSWORD, 'Bob');
    const bobId = (await db.manager.findOneByOrFail(User, { email: 'bob@example.com' })).id;
    await admin.get('/admin/users');
    expect((await admin.submit(`/admin/users/${bobId}/role`, { role: 'admin' })).status).toBe(303);
    expect((await bob.get('/admin')).status).toBe(302); // the role change ended Bob's session
    await bob.login('bob@example.com', PASSWORD);
    expect((await bob.get('/admin')).status).toBe(200);
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${bobId}/role`, { role: 'user' });
    await bob.login('bob@example.com', PASSWORD);
    expect((await bob.get('/admin')).status).toBe(403);
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${bobId}/disable`, { confirm: 'yes' });
    expect((await bob.get('/account')).status).toBe(302);
    const wrong = await bob.login('bob@example.com', 'not the password');
    expect(wrong.status).toBe(401); // a guesser is told nothing about the account
    expect(wrong.text).toContain('Email or password is incorrect.');
    const refused = await bob.login('bob@example.com', PASSWORD);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('This account is disabled. Ask an administrator to enable it again.');
    expect(refused.setCookies.some((c) => c.startsWith('kiroku_sid=') && !c.startsWith('kiroku_sid=;'))).toBe(false);
    expect((await bob.get('/account')).status).toBe(302);
    const types = (await db.dataSource.query(`SELECT "type" FROM "audit_events" WHERE "user_id" = '${bobId}' ORDER BY "at"`)).map(
      (r: { type: string }) => r.type,
    );
    expect(types).toEqual(expect.arrayContaining(['role.changed', 'account.disabled', 'access.denied', 'login.failure', 'login.disabled']));
  });
});
