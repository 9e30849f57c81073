import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { tempDir } from '@kiroku/testing';
import yazl from 'yazl';
import { AuditTrail } from '../src/modules/audit';
import { ApiClient, Json } from './support/api-client';
import { refuseAuditEvents } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

/** Debian's unzip: an independent reader of what the export writes. */
function unzip(args: string[]): string {
  const result = spawnSync('unzip', args, { encoding: 'utf8' });
  if (result.error) throw new Error(`unzip is not installed (apt-get install unzip): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`unzip ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

function zipOf(files: Array<[string, string | Buffer]>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of files) zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

const comparable = (notes: Json[]) =>
  notes
    .map(({ title, body, tags, visibility, editableByTeam, createdAt, updatedAt }) => ({ title, body, tags, visibility, editableByTeam, createdAt, updatedAt }))
    .sort((a, b) => (a.createdAt + a.title < b.createdAt + b.title ? -1 : 1));

describeEachEngine('notes as Markdown files in a zip', (engine) => {
  let t: TestApp;
  let alice: ApiClient;
  let aliceWeb: WebClient;
  let bob: ApiClient;
  let bobWeb: WebClient;
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0, 0, 123));

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api: alice, web: aliceWeb } = await ApiClient.forNewUser(t.url, 'alice@example.com'));
    ({ api: bob, web: bobWeb } = await ApiClient.forNewUser(t.url, 'bob@example.com'));
  });
  afterAll(() => t.close());

  const create = async (api: ApiClient, note: Json) => {
    const res = await api.call('POST', '/api/v1/notes', note);
    expect(res.status).toBe(201);
    clock.advance(1500);
    return res.body;
  };
  const allNotes = async (api: ApiClient) => {
    const out: Json[] = [];
    for (let cursor = ''; ;) {
      const page = await api.call('GET', `/api/v1/notes?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      out.push(...page.body.items);
      if (!page.body.nextCursor) return out;
      cursor = page.body.nextCursor;
    }
  };

  it("exports one's own notes as plain Markdown files with front matter that unzip reads, and imports them back as the same notes", async () => {
    await create(alice, { title: 'Plan', body: '# Plan\n\n- one\n- two\n', tags: ['work'], visibility: 'private' });
    await create(alice, { title: 'plan', body: 'lower-case twin', tags: [], visibility: 'public' });
    await create(alice, { title: '../../etc/passwd: a "quoted" title?', body: 'name with every unsafe character', tags: ['x'] });
    await create(alice, {
      title: '東京 ☕ 日記',
      body: `${'こんにちは、世界。'.repeat(5000)}\n---\nnot front matter: a rule inside the body\n`,
      tags: ['ja', 'travel'],
      visibility: 'public',
    });
    await create(alice, { title: 'CON', body: 'a reserved name on Windows', tags: [], visibility: 'team', editableByTeam: true });
    const trashed = await create(alice, { title: 'gone', body: 'in the trash', tags: [] });
    expect((await alice.call('DELETE', `/api/v1/notes/${trashed.id}`)).status).toBe(204);
    await create(bob, { title: 'bob keeps his own', body: "not in alice's zip", tags: [] });

    const page = await aliceWeb.get('/account');
    expect(page.text).toContain('href="/account/notes/export"');
    expect(page.text).toMatch(/<form method="post" action="\/account\/notes\/import" enctype="multipart\/form-data"[^>]*>\s*<input type="hidden" name="_csrf"/);

    const download = await aliceWeb.download('/account/notes/export');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/zip');
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="kiroku-notes-2026-11-28.zip"');
    const file = join(tempDir(), 'notes.zip');
    writeFileSync(file, download.bytes);

    expect(unzip(['-tq', file])).toMatch(/No errors detected/);
    const names = unzip(['-Z1', file]).trim().split('\n');
    // Oldest first; the lower-case twin gets a suffix (case-insensitive file systems); nothing can climb out of a folder.
    expect(names).toEqual(['Plan.md', 'plan-2.md', 'etc-passwd-a-quoted-title.md', '東京-日記.md', 'note-CON.md']);
    for (const name of names) expect(name).toMatch(/^[^/\\]+\.md$/);
    const plan = unzip(['-p', file, 'Plan.md']);
    expect(plan).toBe(
      '---\ntitle: Plan\ntags:\n  - work\nvisibility: private\ncreated: 2026-11-28T09:00:00.123Z\nupdated: 2026-11-28T09:00:00.123Z\n---\n# Plan\n\n- one\n- two\n',
    );

    // A team note the team may edit says so; other notes leave editableByTeam out.
    expect(unzip(['-p', file, 'note-CON.md'])).toMatch(/^---\ntitle: CON\ntags: \[\]\nvisibility: team\neditableByTeam: true\ncreated: /);

    const before = (await bobWeb.get('/account')).text;
    expect(before).toContain('name="_csrf"');
    const imported = await bobWeb.upload('/account/notes/import', { name: 'notes.zip', type: 'application/zip', data: download.bytes });
    expect(imported.status).toBe(303);
    expect(imported.headers.get('location')).toBe('/notes');
    expect((await bobWeb.get('/notes')).text).toContain('Notes imported.');

    const bobs = (await allNotes(bob)).filter((n: Json) => n.title !== 'bob keeps his own');
    expect(comparable(bobs)).toEqual(comparable(await allNotes(alice)));
    // The imported notes are searchable like any other.
    expect((await bob.call('GET', `/api/v1/notes?q=${encodeURIComponent('東京')}`)).body.items.map((n: Json) => n.title)).toEqual(['東京 ☕ 日記']);

    const events = await t.app.get(AuditTrail).recent(50);
    expect(events.find((e) => e.type === 'notes.exported')).toMatchObject({ details: JSON.stringify({ notes: 5 }) });
    expect(events.find((e) => e.type === 'notes.imported')).toMatchObject({ details: JSON.stringify({ notes: 5, skipped: 0 }) });
  });

  it('imports Markdown from other tools: no front matter, comma tags, folders, and skips what is not Markdown', async () => {
    const { web, api } = await ApiClient.forNewUser(t.url, `carol-${engine}@example.com`);
    await web.get('/account');
    const zip = await zipOf([
      ['Journal/2024-01-01 New year.md', 'Just a body, no front matter.\n'],
      ['Journal/tagged.markdown', '---\ntitle: Tagged\ntags: Work, ideas\ncreated: 2024-02-03T04:05:06Z\n---\nbody'],
      ['Journal/photo.png', Buffer.from([0x89, 0x50])],
      ['__MACOSX/Journal/._tagged.markdown', 'resource fork'],
    ]);
    const res = await web.upload('/account/notes/import', { name: 'export.zip', type: 'application/zip', data: zip });
    expect(res.status).toBe(303);
    const notes = await allNotes(api);
    expect(notes.map((n: Json) => [n.title, n.tags, n.visibility]).sort()).toEqual([
      ['2024-01-01 New year', [], 'private'],
      ['Tagged', ['ideas', 'work'], 'private'],
    ]);
    expect(notes.find((n: Json) => n.title === 'Tagged').createdAt).toBe('2024-02-03T04:05:06.000Z');
  });

  it('keeps an import and its audit event together: when the event cannot be written, no note is kept, and the import tried again is kept once', async () => {
    const { web, api } = await ApiClient.forNewUser(t.url, `dana-${engine}@example.com`);
    await web.get('/account');
    const zip = await zipOf([
      ['one.md', 'first'],
      ['two.md', 'second'],
    ]);
    const db = t.app.get(Database);
    const [{ id: userId }] = await db.select<{ id: string }>('SELECT id FROM users WHERE email = $1', [`dana-${engine}@example.com`]);
    const events = async () => (await t.app.get(AuditTrail).recent(500, 'notes.imported')).filter((e) => e.userId === userId);
    // The audit trail refuses this one event, after the notes' statements have run in the same write.
    const allow = await refuseAuditEvents(db, engine, 'notes.imported');
    try {
      const failed = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: zip });
      expect(failed.status).toBe(500);
      expect(await allNotes(api)).toEqual([]);
      expect(await events()).toEqual([]);
    } finally {
      await allow();
    }
    await web.get('/account');
    const kept = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: zip });
    expect(kept.status).toBe(303);
    expect((await allNotes(api)).map((n: Json) => n.body).sort()).toEqual(['first', 'second']);
    expect((await events()).map((e) => JSON.parse(e.details))).toEqual([{ notes: 2, skipped: 0 }]);
  });

  // SQLite's index only: PostgreSQL's entries are rows of note_search, with no order of writing to keep.
  if (engine === 'sqlite')
    it('writes an import’s search entries below every entry before it, newest lowest, in rising order', async () => {
      const { web, api } = await ApiClient.forNewUser(t.url, 'erin@example.com');
      await create(api, { title: 'Before', body: 'harbour' });
      const db = t.app.get(Database);
      // Every search entry the import writes, in the order written (a temporary trigger on this connection).
      await db.dataSource.query('CREATE TEMP TABLE written (fts_rowid INTEGER)');
      await db.dataSource.query('CREATE TEMP TRIGGER record_written AFTER INSERT ON notes_fts_map BEGIN INSERT INTO written VALUES (NEW.fts_rowid); END');
      const [{ low }] = await db.select<{ low: number }>('SELECT min(fts_rowid) AS low FROM notes_fts_map');
      try {
        await web.get('/account');
        const zip = await zipOf(
          ['2024-01', '2024-03', '2024-02'].map(
            (month) => [`${month}.md`, `---\ntitle: ${month}\ncreated: ${month}-01T00:00:00Z\n---\nharbour`] as [string, string],
          ),
        );
        expect((await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: zip })).status).toBe(303);
        const written = (await db.select<{ fts_rowid: number }>('SELECT fts_rowid FROM written ORDER BY rowid')).map((row) => row.fts_rowid);
        // One write of three entries, in rising rowid order (FTS5 writes a segment whenever a rowid falls), all
        // below the entries before them.
        expect(written).toEqual([low - 3, low - 2, low - 1]);
      } finally {
        await db.dataSource.query('DROP TRIGGER temp.record_written');
        await db.dataSource.query('DROP TABLE temp.written');
      }
      // Search by newest walks the order notes entered the index: the import's newest note first.
      const found = await api.call('GET', '/api/v1/notes?q=harbour&sort=newest');
      expect(found.body.items.map((n: Json) => n.title)).toEqual(['2024-03', '2024-02', '2024-01', 'Before']);
    });

  it('refuses bad uploads with a clear reason and imports nothing', async () => {
    const { web, api } = await ApiClient.forNewUser(t.url, `mallory-${engine}@example.com`);
    await web.get('/account');
    const good = await zipOf([['ok.md', 'fine']]);

    // No CSRF token (a cross-site form could not know it): refused before the file is looked at.
    const forged = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: good }, null);
    expect(forged.status).toBe(403);
    // A cross-site form post, even one carrying a valid token: refused (and never unpacked).
    const crossSite = new FormData();
    crossSite.append('_csrf', web.lastCsrf!);
    crossSite.append('file', new Blob([new Uint8Array(good)], { type: 'application/zip' }), 'a.zip');
    expect((await web.request('POST', '/account/notes/import', { multipart: crossSite, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);

    // A name that climbs out of any folder it would be unpacked into.
    const traversal = Buffer.from(await zipOf([['xx/evil.md', 'boo']]));
    for (let at = traversal.indexOf('xx/evil.md'); at !== -1; at = traversal.indexOf('xx/evil.md', at + 1)) traversal.write('..', at);
    const climbing = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: traversal });
    expect(climbing.status).toBe(400);
    expect(climbing.text).toContain('Import refused');
    expect(climbing.text).toMatch(/invalid relative path/);

    // A zip bomb: 60 MiB of zeros in a few kilobytes.
    const bomb = await zipOf([['bomb.md', Buffer.alloc(60 * 1024 * 1024)]]);
    expect(bomb.length).toBeLessThan(200_000);
    const exploded = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: bomb });
    expect(exploded.status).toBe(400);
    expect(exploded.text).toContain('bomb.md: larger than 512 KiB');

    // One bad file refuses the whole zip.
    const mixed = await zipOf([
      ['good.md', 'fine'],
      ['bad.md', '---\ntags: [Not A Tag!]\n---\nbody'],
    ]);
    const refused = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: mixed });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('bad.md: tags must be 1 to 32 letters or digits of any script, or _ - . (no spaces or other symbols)');

    const notZip = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: Buffer.from('not a zip at all') });
    expect(notZip.status).toBe(400);
    expect(notZip.text).toContain('not a zip file');

    const tooLarge = await web.upload('/account/notes/import', { name: 'a.zip', type: 'application/zip', data: Buffer.alloc(11 * 1024 * 1024, 1) });
    expect(tooLarge.status).toBe(413);

    expect(await allNotes(api)).toEqual([]);
    expect((await t.app.get(AuditTrail).recent(200)).filter((e) => e.type === 'notes.import.refused' && e.userId !== null).length).toBeGreaterThanOrEqual(4);
  });
});
