import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { catalogKeys } from '../src/modules/web/i18n';
import { VIEWS_DIR } from '../src/modules/web/view-engine';
import { freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

function templates(dir = VIEWS_DIR): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? templates(join(dir, f)) : [join(dir, f)]));
}

describe('message catalogs and templates', () => {
  it('have the same keys in English and Japanese', () => {
    expect(catalogKeys('ja').sort()).toEqual(catalogKeys('en').sort());
  });

  it('use only keys that exist, and never bypass escaping', () => {
    const keys = new Set(catalogKeys('en'));
    const files = templates();
    expect(files.length).toBeGreaterThan(15);
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      for (const [, key] of source.matchAll(/\bt\('([a-zA-Z][a-zA-Z0-9.]*)'\s*[,)]/g)) expect({ file, key, known: keys.has(key) }).toEqual({ file, key, known: true });
      // Unescaped output once: the layout writes the page it wraps.
      const raw = [...source.matchAll(/<%~([^%]*)%>/g)].map((m) => `${basename(file)}:${m[1].trim()}`);
      expect({ file, raw }).toEqual({ file, raw: basename(file) === 'layout.eta' ? ['layout.eta:it.body'] : [] });
      expect({ file, inlineScriptOrStyle: /<script(?![^>]*nonce)|style=/.test(source) }).toEqual({ file, inlineScriptOrStyle: false });
    }
  });

  it('only read their data and call the view helpers', () => {
    for (const file of templates()) {
      // The JavaScript inside <% %>, string literals removed.
      const code = [...readFileSync(file, 'utf8').matchAll(/<%[=~]?([\s\S]*?)%>/g)].map((m) => m[1].replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''")).join('\n');
      const reaching = [...code.matchAll(/\b(require|import|process|globalThis|global|eval|Function|constructor|__proto__|prototype|this|fetch|setTimeout|setInterval)\b/g)].map((m) => m[1]);
      expect({ file, reaching }).toEqual({ file, reaching: [] });
    }
  });
});

describe('language and time zone', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await freshDatabase('sqlite'));
  });
  afterAll(() => t.close());

  it('speaks the language the browser asks for', async () => {
    const ja = await new WebClient(t.url).get('/login', { 'accept-language': 'ja,en;q=0.5' });
    expect(ja.text).toContain('<html lang="ja">');
    expect(ja.text).toContain('サインイン');
    expect(ja.headers.get('content-language')).toBe('ja');
    const en = await new WebClient(t.url).get('/login', { 'accept-language': 'fr-FR,en;q=0.8' });
    expect(en.text).toContain('<html lang="en">');
  });

  it('keeps an account\'s own language and time zone, whatever the browser says', async () => {
    const c = new WebClient(t.url);
    await c.signup('hana@example.com', 'a long enough passphrase', '花子');
    await c.get('/account');
    expect((await c.submit('/account/preferences', { locale: 'ja', timeZone: 'Asia/Tokyo' })).status).toBe(303);
    const page = await c.get('/account', { 'accept-language': 'en' });
    expect(page.text).toContain('<html lang="ja">');
    expect(page.text).toContain('設定を保存しました。');
    expect(page.text).toMatch(/<option selected>Asia\/Tokyo<\/option>/);
    await c.get('/account');
    expect((await c.submit('/account/preferences', { locale: 'xx', timeZone: 'Mars/Olympus' })).status).toBe(400);
  });
});
