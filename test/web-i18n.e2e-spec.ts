import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Eta } from 'eta';
import { catalogKeys, VIEWS_DIR } from '../src/modules/web';
import { freshDatabase } from './support/engines';
import { listRoutes } from './support/routes';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

/** A template's name as `partial()` and `render()` spell it: `/notes/diff` for views/notes/diff.eta. */
function viewName(file: string): string {
  return `/${relative(VIEWS_DIR, file)
    .replace(/\\/g, '/')
    .replace(/\.eta$/, '')}`;
}

function templates(dir = VIEWS_DIR): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? templates(join(dir, f)) : [join(dir, f)]));
}

describe('message catalogs and templates', () => {
  it('have the same keys in English and Japanese', () => {
    expect(catalogKeys('ja').sort()).toEqual(catalogKeys('en').sort());
  });

  it('use only keys that exist, never bypass escaping, and only read their data and call the view helpers', () => {
    const files = templates();
    expect(files.length).toBeGreaterThan(15);
    const sources = new Map(files.map((file) => [viewName(file), readFileSync(file, 'utf8')]));
    // A partial is rendered inside a page that has the layout, so it is the one kind of template without its own.
    const partials = new Set([...sources.values()].flatMap((source) => [...source.matchAll(/\bpartial\(\s*'([^']+)'/g)].map(([, name]) => name)));
    expect(partials.size).toBeGreaterThan(1);
    for (const [name, source] of sources) expect({ name, problems: templateProblems(name, source, partials) }).toEqual({ name, problems: [] });
  });

  it('are held to rules that catch the ways around them', () => {
    const bypasses = [
      '<%-~ it.x %>',
      '<%_~ it.x %>',
      '<% ~ it.x %>',
      '<%~ it.body %>', // raw output, however spelled (outside the layout)
      '<% output(it.x) %>',
      '<% __eta.res += it.x %>', // writing to the page directly
      "<% layout('/layout', { body: it.x }) %>", // a layout's data replacing the page
      "<%= it.helpers['constr' + 'uctor'] %>",
      '<%= it.helpers[`constructor`] %>',
      '<%= this %>',
      '<%= process.env %>', // reaching past the data
      "<%= t('no.such.key') %>",
      '<%= t("no.such.key") %>',
      '<script>x()</script>',
      '<p style="x">',
      '<p class="alert" role="status">', // information dressed as an error
    ];
    for (const source of bypasses)
      expect({ source, caught: templateProblems('/page', `<% layout('/layout') %>${source}`).length > 0 }).toEqual({ source, caught: true });
    expect(templateProblems('/page', "<% layout('/layout') %><%= t('app.name') %> <%= it.note.tags[0] %> <%= it.emails?.[e.userId] %>")).toEqual([]);
  });
});

const KNOWN_KEYS = new Set(catalogKeys('en'));
const BANNED =
  /\b(require|import|process|globalThis|global|window|eval|Function|constructor|__proto__|prototype|this|fetch|setTimeout|setInterval|output|__eta|include|includeAsync|capture|captureAsync|block|blockAsync|options)\b/g;

/**
 * What is wrong with a template, read through Eta's own parser (so every spelling of a tag counts): unknown message
 * keys, unescaped output anywhere but the layout's page, a layout given data (its `body` would replace the page),
 * inline scripts or styles, and code reaching past the page's data and the helpers.
 */
function templateProblems(name: string, source: string, partials: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const code = new Eta({ views: VIEWS_DIR }).parse(source).filter((piece): piece is { t: string; val: string } => typeof piece === 'object');
  for (const { t, val } of code) {
    for (const [, , key] of val.matchAll(/\bt\(\s*(['"`])([^'"`]*)\1\s*[,)]/g)) if (!KNOWN_KEYS.has(key)) problems.push(`unknown key ${key}`);
    if (t === 'r' && !(name === '/layout' && val.trim() === 'it.body')) problems.push(`unescaped output: ${val.trim()}`);
    if (/\blayout\s*\(/.test(val) && val.trim() !== "layout('/layout')") problems.push(`layout call: ${val.trim()}`);
    // Names are looked for outside string literals (message keys may contain "import"); a string cannot smuggle
    // one in either, because a computed member may hold only a number or a name path.
    const bare = val.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
    for (const [, word] of bare.matchAll(BANNED)) problems.push(`reaches past its data: ${word}`);
    for (const [, inside] of val.matchAll(/\[([^\]]*)\]?/g)) if (!/^\s*[\w.?]+\s*$/.test(inside)) problems.push(`computed member: [${inside}]`);
  }
  if (name !== '/layout' && !partials.has(name) && !code.some((c) => c.val.trim() === "layout('/layout')")) problems.push('no layout');
  if (/<script(?![^>]*nonce)|style=/.test(source)) problems.push('inline script or style');
  // The error style is for errors: an element styled as an alert is announced as one, information is a notice.
  for (const [tag] of source.matchAll(/<[a-z]+\b[^>]*\bclass="(?:[^"]* )?alert(?: [^"]*)?"[^>]*>/g))
    if (!/\brole="alert"/.test(tag)) problems.push(`alert style without role="alert": ${tag}`);
  return problems;
}

describe('language and time zone', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await freshDatabase('sqlite'));
  });
  afterAll(() => t.close());

  it('speaks the language the browser asks for', async () => {
    const ja = await new WebClient(t.url).get('/login', { 'accept-language': 'ja,en;q=0.5' });
    expect(ja.text).toContain('<html lang="ja" ');
    expect(ja.text).toContain('サインイン');
    expect(ja.headers.get('content-language')).toBe('ja');
    const en = await new WebClient(t.url).get('/login', { 'accept-language': 'fr-FR,en;q=0.8' });
    expect(en.text).toContain('<html lang="en" ');
  });

  it("keeps an account's own language and time zone, whatever the browser says", async () => {
    const c = new WebClient(t.url);
    await c.signup('hana@example.com', 'a long enough passphrase', '花子');
    await c.get('/account');
    expect((await c.submit('/account/preferences', { locale: 'ja', timeZone: 'Asia/Tokyo' })).status).toBe(303);
    const page = await c.get('/account', { 'accept-language': 'en' });
    expect(page.text).toContain('<html lang="ja" ');
    expect(page.text).toContain('設定を保存しました。');
    expect(page.text).toMatch(/<option selected>Asia\/Tokyo<\/option>/);
    await c.get('/account');
    expect((await c.submit('/account/preferences', { locale: 'xx', timeZone: 'Mars/Olympus' })).status).toBe(400);
  });
});

/**
 * English left in a page: three or more English words in a row in the text a reader sees (not in code, the
 * page's data, or an attribute). Product names, settings and formats are allowed, each named here.
 */
function englishIn(html: string, allowed: RegExp[]): string[] {
  const text = html
    .replace(/<span lang="en">[^<]*<\/span>/g, ' ') // marked as English on purpose (the OpenAPI document's words)
    .replace(/<(script|style|code|pre|textarea|kbd|samp|select)\b[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/g, ' ');
  return [...text.matchAll(/[A-Za-z][A-Za-z']*(?:[ ,.:;-]+[A-Za-z][A-Za-z']*){2,}/g)].map(([m]) => m.trim()).filter((m) => !allowed.some((a) => a.test(m)));
}

describe('a Japanese page has no English left in it', () => {
  let t: TestApp;
  let admin: WebClient;
  let noteId: string;
  let trashedId: string;
  let tokenId: string;
  let memberId: string;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase('sqlite'));
    admin = new WebClient(t.url);
    await admin.signup('kanri@example.com', 'a long enough passphrase', '管理者');
    await admin.get('/account');
    await admin.submit('/account/preferences', { locale: 'ja', timeZone: 'Asia/Tokyo' });
    await admin.get('/notes/new');
    const created = await admin.submit('/notes', { title: '議事録', body: '# 会議\n\n- [ ] 準備', tags: '会議', visibility: 'public' });
    noteId = created.headers.get('location')!.split('/').pop()!;
    await admin.get(`/notes/${noteId}/edit`);
    await admin.submit(`/notes/${noteId}`, { title: '議事録（改）', body: '# 会議\n\n- [x] 準備', tags: '会議', visibility: 'public', version: '1' });
    // Something for each confirmation page to name: a trashed note, a token, another account.
    await admin.get('/notes/new');
    const old = await admin.submit('/notes', { title: '古いメモ', body: '不要', tags: '', visibility: 'private' });
    trashedId = old.headers.get('location')!.split('/').pop()!;
    await admin.submit(`/notes/${trashedId}/delete`, {});
    await admin.get('/account');
    await admin.submit('/account/tokens', { name: 'スクリプト' });
    tokenId = /action="\/account\/tokens\/([0-9a-f-]{36})\/revoke"/.exec((await admin.get('/account')).text)![1];
    const member = new WebClient(t.url);
    await member.signup('member@example.com', 'a long enough passphrase', '同僚');
    memberId = /action="\/admin\/users\/([0-9a-f-]{36})\/disable"/.exec((await admin.get('/admin/users')).text)![1];
  });
  afterAll(() => t.close());

  // Names and formats that are the same in every language.
  const ALLOWED = [/^Kiroku\b/, /\bJSON API\b/, /^Markdown\b/, /^OpenAPI\b/, /^Authorization: Bearer\b/, /^Ctrl\+Enter\b/];

  it('on every page a signed-in administrator can open', async () => {
    const paths = listRoutes(t.app)
      .filter((r) => r.method === 'GET' && !/^\/(api|health|metrics|static)\b/.test(r.path) && !r.path.includes('export') && !r.path.includes('/json'))
      .map((r) =>
        r.path
          .replace('/notes/trash/:id', `/notes/trash/${trashedId}`)
          .replace('/account/tokens/:id', `/account/tokens/${tokenId}`)
          .replace('/admin/users/:id', `/admin/users/${memberId}`)
          .replace(':id', noteId)
          .replace(':version', '1'),
      );
    expect(paths.length).toBeGreaterThan(12);
    const found: Record<string, string[]> = {};
    const read: string[] = [];
    for (const path of [...paths, '/api/docs']) {
      const page = await admin.get(path);
      if (page.status === 200) read.push(path);
      if (page.status !== 200 || !(page.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      expect({ path, lang: /<html lang="(\w+)"/.exec(page.text)?.[1] }).toEqual({ path, lang: 'ja' });
      const english = englishIn(page.text, ALLOWED);
      if (english.length) found[path] = english;
    }
    expect(found).toEqual({});
    // The pages reached only with something to name were read too.
    expect(read).toEqual(
      expect.arrayContaining([
        '/account/tokens',
        `/notes/trash/${trashedId}`,
        `/notes/trash/${trashedId}/delete`,
        '/notes/trash/empty',
        `/account/tokens/${tokenId}/revoke`,
        `/admin/users/${memberId}/disable`,
      ]),
    );
  });

  it('on the invitation and password-link pages, the link shown once, and the pages of a spent link', async () => {
    await new WebClient(t.url).signup('kaiin@example.com', 'a long enough passphrase', '会員');
    await admin.get('/admin/users');
    expect((await admin.submit('/admin/users/invite', { email: 'shinjin@example.com' })).status).toBe(303);
    const users = await admin.get('/admin/users');
    const invite = new URL(/id="new-link">([^<]+)</.exec(users.text)![1]);
    const memberId = /action="\/admin\/users\/([0-9a-f-]{36})\/reset-link"/.exec(users.text)![1];
    await admin.submit(`/admin/users/${memberId}/reset-link`, {});
    const withReset = await admin.get('/admin/users');
    const reset = new URL(/id="new-link">([^<]+)</.exec(withReset.text)![1]);
    const ja = { 'accept-language': 'ja' };
    const visitor = new WebClient(t.url);
    const pages: Array<[string, { status: number; text: string }]> = [
      ['/admin/users (invitation shown)', users],
      ['/admin/users (password link shown)', withReset],
      ['/invite', await visitor.get(invite.pathname + invite.search, ja)],
      ['/reset', await visitor.get(reset.pathname + reset.search, ja)],
      ['/invite (no such link)', await visitor.get('/invite?token=nothing', ja)],
    ];
    await visitor.submit('/invite', { token: invite.searchParams.get('token')!, displayName: '新人', password: 'a long enough passphrase' }, ja);
    pages.push(['/invite (used)', await new WebClient(t.url).get(invite.pathname + invite.search, ja)]);
    expect(pages.map(([path, page]) => [path, page.status])).toEqual([
      ['/admin/users (invitation shown)', 200],
      ['/admin/users (password link shown)', 200],
      ['/invite', 200],
      ['/reset', 200],
      ['/invite (no such link)', 404],
      ['/invite (used)', 410],
    ]);
    const found = Object.fromEntries(pages.map(([path, page]) => [path, englishIn(page.text, ALLOWED)]).filter(([, english]) => english.length));
    expect(found).toEqual({});
  });

  it('finds English where it is left (the rule can fail)', () => {
    expect(englishIn('<p>保存しました。</p><p>Try again later</p><code>npm run build now</code><span lang="en">the note as written</span>', ALLOWED)).toEqual([
      'Try again later',
    ]);
  });
});
