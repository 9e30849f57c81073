'use strict';
// How cost grows with the number of notes: one account with 10,000, 100,000 and 1,000,000 notes (seeded straight
// into the database, the same database grown from one size to the next), and at 1 connection: list, get, search
// for a rare and a common word, create. Prints a table and draws docs/benchmarks-scale.png.
const { randomUUID } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { root, tempDir, testing, startServer, msUntilOk, stop, account, request, measure } = require('../support');
const { _vocabulary: vocabulary, _newNote: newNote } = require('./notes');

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** The warm-up pass: seconds per kind, after measure()'s own second. */
const WARM_SECONDS = 2;
const PLOT = process.env.BENCH_SCALE_PLOT ?? join(root, 'docs/benchmarks-scale.png');
// eslint-disable-next-line no-restricted-syntax -- the seeder writes search entries from the index's own text function, which no module needs through the door
const { indexText } = require(join(root, 'dist/src/modules/notes/search/text.js'));
// eslint-disable-next-line no-restricted-syntax -- and PostgreSQL's document from the index's own function, likewise
const { pgDocument } = require(join(root, 'dist/src/modules/notes/search/search-index.js'));

/** A word in few notes (about 1 in 500) and one in nearly all: the two ends of a Zipf vocabulary. */
const RARE_WORD = vocabulary.RARE[5000];
const COMMON_WORD = 'the';
/** A tag on the three oldest notes only: a list filtered by it used to walk every note to find them. */
const RARE_TAG = 'raretag';
const TAGS = [...vocabulary.TAGS, RARE_TAG];
const KINDS = ['list', 'get', `search rare (${RARE_WORD})`, `search common (${COMMON_WORD})`, `list tag ${RARE_TAG} (3 notes)`, 'create'];
/**
 * The title of the notes the bench creates. They go before the next size is seeded, so that each size is measured
 * on seeded notes alone: they are newer than every seeded note, so the list showed them (12 words, not 40–160)
 * from the second size on, and PostgreSQL's search for the common word walked past them all (none has it in its
 * title) before its first match: at a million notes 3.6 ms p50, against 2.0 on the seeded notes alone.
 */
const CREATED_TITLE = JSON.parse(newNote).title;
const MINUTE = 60_000;

/** mulberry32: a small generator with no visible pattern (the notes suite's LCG ties words to note numbers). */
function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Notes `from`..`to - 1` of the account, each as the application writes it (notes.repository.ts and
 * search-index.ts): the row, its tags, its search entry. Note i was created at base + i minutes, so a note
 * seeded later is newer, and every note is older than the bench's own creates (removed before the next size).
 */
function* notesBetween(from, to, base) {
  const random = rng(from + 1);
  for (let i = from; i < to; i++) {
    const words = Array.from({ length: 40 + Math.floor(random() * 120) }, () => vocabulary.zipf(random));
    if (random() < 0.3) words.splice(5, 0, vocabulary.JAPANESE[Math.floor(random() * vocabulary.JAPANESE.length)]);
    const tags = [...new Set([vocabulary.TAGS[Math.floor(random() * 50)], vocabulary.TAGS[Math.floor(random() * 50)], ...(i < 3 ? [RARE_TAG] : [])])].sort();
    const at = base + i * MINUTE;
    // The note's number in its title: a word found in that note alone, to check the index after seeding.
    yield { id: randomUUID(), title: `${words[0]} ${words[1]} n${i}`, body: words.join(' '), tags, at };
  }
}

const BATCH = 10_000;

/** SQLite: one better-sqlite3 connection, prepared statements, a transaction per 10,000 notes. */
async function sqliteSeeder(path, ownerId) {
  const Database = require('better-sqlite3');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // a bench's throwaway file: no need to survive a power cut while seeding
  // Notes, note_tags and notes_fts_map are keyed by random UUIDs: each insert lands on a random page of three
  // indexes. With 256 MiB of cache those pages were read again and again (1 MiB of reads a note at 600,000
  // notes, seeding slowed from 5,000 to 1,500 notes/s); with the file mapped and a large cache they stay.
  db.pragma('cache_size = -2097152');
  db.pragma('mmap_size = 8589934592');
  const tagIds = new Map();
  const insertTag = db.prepare('INSERT INTO tags (id, owner_id, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  for (const name of TAGS) insertTag.run(randomUUID(), ownerId, name);
  for (const row of db.prepare('SELECT id, name FROM tags WHERE owner_id = ?').all(ownerId)) tagIds.set(row.name, row.id);
  const note = db.prepare(
    "INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at, tag_names) VALUES (?, ?, ?, ?, 'private', ?, ?, ?)",
  );
  const noteTag = db.prepare('INSERT INTO note_tags (note_id, tag_id) VALUES (?, ?)');
  // Each entry below the others, as SearchIndex writes them: the lowest rowids are the newest.
  const fts = db.prepare('INSERT INTO "notes_fts" ("rowid", "owner", "title", "tags", "body") VALUES (?, ?, ?, ?, ?)');
  const lowest = db.prepare('SELECT coalesce(min("fts_rowid"), 1) AS low FROM "notes_fts_map"');
  let rowid = 1;
  const map = db.prepare('INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (?, ?)');
  const owner = `o${ownerId.replace(/-/g, '')}`;
  const write = db.transaction((batch) => {
    // The batch's newest note lowest, written in rising rowid order (see SqliteSearchIndex.writeMany).
    const low = rowid;
    rowid -= batch.length;
    for (const [j, n] of [...batch.entries()].reverse()) {
      // tag_names as the note_tags triggers write it (names in byte order, space-separated), the triggers being off.
      note.run(n.id, ownerId, n.title, n.body, n.at, n.at, n.tags.join(' '));
      for (const tag of n.tags) noteTag.run(n.id, tagIds.get(tag));
      fts.run(low - 1 - j, owner, indexText(n.title), indexText(n.tags.join(' ')), indexText(n.body));
      map.run(n.id, low - 1 - j);
    }
  });
  // The note_tags triggers (which keep notes.tag_names) cost 200 µs a note here, more than everything else
  // together: they are dropped while seeding and made again, from their own text, afterwards.
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'note_tags'").all();
  const created = `SELECT id FROM notes WHERE owner_id = '${ownerId}' AND title = '${CREATED_TITLE}'`;
  const removeCreated = db.transaction(() => {
    db.exec(`DELETE FROM notes_fts WHERE rowid IN (SELECT fts_rowid FROM notes_fts_map WHERE note_id IN (${created}))`);
    for (const table of ['notes_fts_map', 'note_tags', 'note_revisions']) db.exec(`DELETE FROM ${table} WHERE note_id IN (${created})`);
    db.exec(`DELETE FROM notes WHERE id IN (${created})`);
  });
  return {
    async add(from, to, base) {
      removeCreated();
      rowid = lowest.get().low;
      for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
      try {
        let batch = [];
        for (const n of notesBetween(from, to, base)) {
          batch.push(n);
          if (batch.length === BATCH) (write(batch), (batch = []));
        }
        if (batch.length) write(batch);
      } finally {
        for (const t of triggers) db.exec(t.sql);
      }
      // Batches of 10,000 notes reach the search index as large segments, more of them at one level (10 at
      // 100,000 notes) than FTS5 lets a database grown one create at a time gather (8, see the migration
      // MergeSearchIndexEightAtATime): their merge would be worked off by the bench's own creates, 320 pages in
      // every 30th commit for seconds. Merged here, as the PostgreSQL seeder vacuums what autovacuum would have.
      const changes = db.prepare('SELECT total_changes()').pluck();
      const merge = db.prepare("INSERT INTO notes_fts (notes_fts, rank) VALUES ('merge', 500)");
      for (let before = changes.get(); merge.run(), changes.get() - before >= 2; before = changes.get());
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    count: () => db.prepare('SELECT count(*) AS c FROM notes').get().c,
    // Notes from all over the file, not only the newest: a get at 1,000,000 notes is not a get of the last ones.
    sampleIds: () => db.prepare('SELECT id FROM notes ORDER BY random() LIMIT 1000').all(),
    close: () => db.close(),
  };
}

/** PostgreSQL: one pg connection, 10,000 notes a statement through unnest, as NotesRepository and SearchIndex.writeMany write them. */
async function postgresSeeder(url, ownerId) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('SET synchronous_commit = off');
  await client.query('INSERT INTO tags (id, owner_id, name) SELECT gen_random_uuid()::text, $1, name FROM unnest($2::text[]) AS name ON CONFLICT DO NOTHING', [
    ownerId,
    TAGS,
  ]);
  const tagIds = new Map((await client.query('SELECT id, name FROM tags WHERE owner_id = $1', [ownerId])).rows.map((r) => [r.name, r.id]));
  const write = async (batch) => {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at)
       SELECT id, $2, title, body, 'private', at, at FROM unnest($1::varchar[], $3::varchar[], $4::text[], $5::bigint[]) AS n(id, title, body, at)`,
      [batch.map((n) => n.id), ownerId, batch.map((n) => n.title), batch.map((n) => n.body), batch.map((n) => n.at)],
    );
    const links = batch.flatMap((n) => n.tags.map((t) => [n.id, tagIds.get(t)]));
    await client.query('INSERT INTO note_tags (note_id, tag_id) SELECT * FROM unnest($1::varchar[], $2::varchar[])', [
      links.map((l) => l[0]),
      links.map((l) => l[1]),
    ]);
    await client.query(
      `INSERT INTO "note_search" ("note_id", "owner_id", "created_at", "document")
       SELECT id, $2, created_at, document::tsvector FROM unnest($1::text[], $3::bigint[], $4::text[]) AS n(id, created_at, document)`,
      [batch.map((n) => n.id), ownerId, batch.map((n) => n.at), batch.map(pgDocument)],
    );
    await client.query('COMMIT');
  };
  return {
    async add(from, to, base) {
      // Its search entry, links and history go with it (ON DELETE CASCADE).
      await client.query('DELETE FROM notes WHERE owner_id = $1 AND title = $2', [ownerId, CREATED_TITLE]);
      let batch = [];
      for (const n of notesBetween(from, to, base)) {
        batch.push(n);
        if (batch.length === BATCH) (await write(batch), (batch = []));
      }
      if (batch.length) await write(batch);
      // What autovacuum would have done by the time anyone searched these notes.
      await client.query('VACUUM ANALYZE notes, note_tags, note_search');
      // And what the checkpointer would have: without it, the seeded pages are still being written out (spread
      // over minutes) while the first sizes are measured, as SQLite's seeder checkpoints its WAL.
      await client.query('CHECKPOINT');
    },
    count: async () => Number((await client.query('SELECT count(*) AS c FROM notes')).rows[0].c),
    sampleIds: async () => (await client.query('SELECT id FROM notes ORDER BY random() LIMIT 1000')).rows,
    close: () => client.end(),
  };
}

async function engine(label, env, seeder) {
  let server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
  await msUntilOk(server, '/health/ready');
  const { token, userId } = await account(server.url);
  await stop(server);
  const seed = await seeder(userId);
  const base = Date.now() - (Math.max(...SIZES) + 10) * MINUTE;
  const results = [];
  let seeded = 0;
  try {
    for (const size of SIZES) {
      const started = Date.now();
      await seed.add(seeded, size, base);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${label}: notes ${seeded.toLocaleString('en')} → ${size.toLocaleString('en')} seeded in ${seconds.toFixed(0)} s (${Math.round((size - seeded) / seconds)} notes/s)`,
      );
      seeded = size;
      // Exactly the seeded notes: the bench's creates of the last size are gone.
      const count = await seed.count();
      if (count !== size) throw new Error(`${label}: ${count} notes after seeding ${size}`);
      const ids = (await seed.sampleIds()).map((r) => r.id);
      execFileSync('sync');
      server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
      try {
        await msUntilOk(server, '/health/ready', 120_000);
        const auth = { authorization: `Bearer ${token}` };
        const get = (path) => [`${server.url}${path}`, { headers: auth }];
        // The index must hold what was seeded: each of a few notes is found by the number in its title.
        for (const i of [0, Math.floor(size / 2), size - 1]) {
          const found = JSON.parse((await request(...get(`/api/v1/notes?q=n${i}`))).body);
          if (found.items?.length !== 1 || !found.items[0].title.endsWith(` n${i}`))
            throw new Error(`note n${i} is not found by search: ${JSON.stringify(found).slice(0, 200)}`);
        }
        const rare = JSON.parse((await request(...get(`/api/v1/notes?q=${RARE_WORD}&limit=100`))).body).items.length;
        if (rare === 0) throw new Error(`no note has the rare word ${RARE_WORD}`);
        const tagged = JSON.parse((await request(...get(`/api/v1/notes?tag=${RARE_TAG}`))).body).items?.length;
        if (tagged !== 3) throw new Error(`${tagged} notes have the tag ${RARE_TAG}, not 3`);
        let n = 0;
        const create = [
          `${server.url}/api/v1/notes`,
          {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: newNote,
          },
        ];
        const plans = [
          () => get('/api/v1/notes'),
          () => get(`/api/v1/notes/${ids[n++ % ids.length]}`),
          () => get(`/api/v1/notes?q=${RARE_WORD}`),
          () => get(`/api/v1/notes?q=${COMMON_WORD}`),
          () => get(`/api/v1/notes?tag=${RARE_TAG}`),
          () => create,
        ];
        // A pass over every kind first: the server just started, and the first kind measured would otherwise
        // also measure its warm-up (code still being optimised, caches of statements and pages still filling):
        // at 100,000 notes on PostgreSQL the list read p99 4.7 ms first and 1.9 ms measured again after the others.
        // Not the create: its notes would be the newest, ahead of every seeded one in the searches measured next.
        for (const plan of plans.slice(0, -1)) await measure(WARM_SECONDS, plan);
        const row = { size, byKind: {} };
        for (const [k, plan] of plans.entries()) {
          const figures = await measure(SECONDS, plan);
          delete figures.times; // the figures only: the saved results stay small
          row.byKind[KINDS[k]] = figures;
        }
        results.push(row);
        console.log(`${label}: ${size.toLocaleString('en')} notes measured (${rare}${rare === 100 ? '+' : ''} notes with the rare word)`);
      } finally {
        await stop(server);
      }
    }
  } finally {
    await seed.close();
  }
  return { label, results };
}

function table(runs) {
  console.log(
    `\n${SECONDS} s per request kind at 1 connection, after a pass over the reads (${WARM_SECONDS + 1} s each) and a 1 s warm-up of each kind; the client runs on the same cores.\n`,
  );
  console.log('| engine | notes | request | req/s | p50 ms | p99 ms | non-2xx |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { label, results } of runs) {
    for (const { size, byKind } of results) {
      for (const kind of KINDS.filter((k) => byKind[k])) {
        const r = byKind[kind];
        console.log(`| ${label} | ${size.toLocaleString('en')} | ${kind} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.failed} |`);
      }
    }
  }
  console.log("\nSearch's requests per second as a share of the list's, same run (goal: at least 60%):\n");
  console.log('| engine | notes | rare word | common word |');
  console.log('| --- | --- | --- | --- |');
  for (const { label, results } of runs) {
    for (const { size, byKind } of results) {
      const share = (k) => `${((byKind[KINDS[k]].rps / byKind.list.rps) * 100).toFixed(0)}%`;
      console.log(`| ${label} | ${size.toLocaleString('en')} | ${share(2)} | ${share(3)} |`);
    }
  }
  console.log('\nGrowth from the smallest to the largest size (p50; goal: list, get and create within 1.2×, search within 2×):\n');
  console.log('| engine | request | p50 growth | p99 growth |');
  console.log('| --- | --- | --- | --- |');
  for (const { label, results } of runs) {
    if (results.length < 2) continue;
    const [first, last] = [results[0], results[results.length - 1]];
    for (const kind of KINDS.filter((k) => first.byKind[k] && last.byKind[k])) {
      const g = (q) => (last.byKind[kind][q] / first.byKind[kind][q]).toFixed(2);
      console.log(`| ${label} | ${kind} | ${g('p50')}× | ${g('p99')}× |`);
    }
  }
}

/** p50 and p99 against the number of notes, one panel per engine, drawn by echarts (SVG) and resvg (PNG). */
function plot(runs) {
  const echarts = require('echarts');
  const { Resvg } = require('@resvg/resvg-js');
  const width = 560 * runs.length + 40;
  const height = 520;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const colors = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#0891b2', '#7c3aed'];
  const panel = (i) => ({ left: 70 + i * 560, width: 440, top: 80, bottom: 90 });
  const series = runs.flatMap(({ results }, i) =>
    KINDS.flatMap((kind, k) =>
      ['p50', 'p99'].map((q) => ({
        name: kind,
        type: 'line',
        xAxisIndex: i,
        yAxisIndex: i,
        symbolSize: 6,
        color: colors[k],
        lineStyle: { width: 2, type: q === 'p50' ? 'solid' : 'dashed' },
        data: results.filter((r) => r.byKind[kind]).map((r) => [r.size, Number(r.byKind[kind][q].toFixed(3))]),
      })),
    ),
  );
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
    title: runs.map(({ label }, i) => ({
      text: `${label}: latency at 1 connection`,
      subtext: 'solid p50, dashed p99',
      left: panel(i).left,
      top: 10,
      textStyle: { fontSize: 15 },
    })),
    legend: { bottom: 10, itemGap: 18, data: KINDS },
    grid: runs.map((_, i) => panel(i)),
    xAxis: runs.map((_, i) => ({
      type: 'log',
      gridIndex: i,
      name: 'notes',
      nameLocation: 'middle',
      nameGap: 28,
      min: 10 ** Math.floor(Math.log10(Math.min(...SIZES))),
      max: 10 ** Math.ceil(Math.log10(Math.max(...SIZES))),
      axisLabel: { formatter: (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${v}`) },
    })),
    yAxis: runs.map((_, i) => ({ type: 'log', gridIndex: i, name: 'ms', min: 0.1, max: 100, axisLabel: { formatter: (v) => `${v}` } })),
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, background: '#ffffff' }).render().asPng();
  writeFileSync(PLOT, png);
  console.log(`\nPlot: ${PLOT}`);
}

exports._postgresSeeder = postgresSeeder;
exports.run = async () => {
  console.log(
    `Sizes ${SIZES.map((s) => s.toLocaleString('en')).join(', ')} (BENCH_SCALE_SIZES), one account, grown in place; ${SECONDS} s per request kind (BENCH_SECONDS).`,
  );
  const which = process.env.BENCH_ENGINE ?? 'sqlite';
  const runs = [];
  if (which === 'sqlite' || which === 'both') {
    const path = join(tempDir(), 'kiroku.sqlite');
    runs.push(await engine('SQLite', { DATABASE_PATH: path }, (owner) => sqliteSeeder(path, owner)));
  }
  if (which === 'postgres' || which === 'both') {
    const cluster = await testing.startPostgres();
    try {
      const url = await cluster.createDatabase('bench_scale');
      runs.push(await engine('PostgreSQL 15', { DATABASE_URL: url }, (owner) => postgresSeeder(url, owner)));
    } finally {
      await cluster.destroy();
    }
  }
  if (!runs.length) throw new Error(`BENCH_ENGINE must be sqlite, postgres or both, not ${which}`);
  // With BENCH_SCALE_RESULTS, the engines measured by earlier runs (kept in that JSON file) join the table and
  // the plot: one engine at a time on a busy machine, one picture.
  const saved = process.env.BENCH_SCALE_RESULTS;
  if (saved) {
    const earlier = existsSync(saved) ? JSON.parse(readFileSync(saved, 'utf8')).filter((r) => !runs.some((n) => n.label === r.label)) : [];
    runs.unshift(...earlier);
    runs.sort((a, b) => (a.label === 'SQLite' ? -1 : b.label === 'SQLite' ? 1 : 0));
    writeFileSync(saved, JSON.stringify(runs, null, 2));
  }
  table(runs);
  plot(runs);
};
