'use strict';
// 100,000 notes on SQLite and on PostgreSQL: API list, get, search and create, the HTML list page, search for
// one whole word and for a prefix of two letters (search as you type), and /health/live as the ceiling, each at
// 50 connections on 127.0.0.1; then whole words against prefixes at one connection, for their latency.
const { execFileSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { root, tempDir, testing, startServer, msUntilOk, stop, account, measure, percentiles } = require('../support');

const NOTES = Number(process.env.BENCH_NOTES ?? 100_000);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);

const COMMON = (
  'the a of to and in is for on with that this it be are as at by from or we will not can our an ' +
  'deploy restart backup review meeting design search index cluster replica migration session token ' +
  'dashboard latency budget roadmap release incident postmortem checklist runbook kubernetes postgres sqlite nginx ' +
  'customer invoice contract hiring onboarding travel agenda decision summary question answer draft final'
).split(' ');
/** A vocabulary with a natural (Zipf) spread: a few words everywhere, most words rare, as in real notes. */
const SYLLABLES = 'ka ri ro ku mo to na sa ta ne shi ha ma yu ra no te su mi ko lo ve ar en is on'.split(' ');
const RARE = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  for (let n = i + 7; n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length];
  return w;
});
const WORDS = [...COMMON, ...RARE];
const zipf = (random) => WORDS[Math.min(WORDS.length - 1, Math.floor(Math.exp(random() * Math.log(WORDS.length + 1)) - 1))];
const JAPANESE = ['明日は東京で会議。', '設計レビューの議事録。', '障害対応の振り返り。', '新しい機能の要件をまとめる。', '大阪出張の準備。'];
const TAGS = Array.from({ length: 50 }, (_, i) => `tag${i}`);

/** The body of every create request of the suites: a note of ordinary size, with Japanese and two tags. */
const NEW_NOTE = JSON.stringify({
  title: 'Benchmark note',
  body: 'A new note with a few words about deploy and review. 明日は東京で会議。',
  tags: ['bench', 'tag1'],
});

function rng(seed) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

function run(opts) {
  return new Promise((resolve, reject) => autocannon({ connections: 50, duration: DURATION, timeout: 30, ...opts }, (e, r) => (e ? reject(e) : resolve(r))));
}

/** Inserts the notes through the application's own entities and search index (those of the build in `dist`), 1,000 per transaction. */
async function seed(env, ownerId, count = NOTES, dist = join(root, 'dist')) {
  const { loadConfig } = require(join(dist, 'libs/config/src/index.js'));
  const { createDataSource, Database } = require(join(dist, 'libs/persistence/src/index.js'));
  const { SCHEMA } = require(join(dist, 'src/schema.js'));
  // Builds from before the module doors (bench ab's "before") kept the search index past the notes door.
  const door = require(join(dist, 'src/modules/notes/index.js'));
  // eslint-disable-next-line no-restricted-syntax -- only for builds older than the notes door's SearchIndex export
  const { SearchIndex } = door.SearchIndex ? door : require(join(dist, 'src/modules/notes/search/search-index.js'));
  const ds = createDataSource(loadConfig({ env: { NODE_ENV: 'test', ...env } }).database, SCHEMA, 'bench-seed');
  await ds.initialize();
  const db = new Database(ds);
  const index = SearchIndex.for(db);
  const random = rng(42);
  const tagIds = TAGS.map(() => randomUUID());
  await db.transaction((m) => m.getRepository('Tag').insert(TAGS.map((name, i) => ({ id: tagIds[i], ownerId, name }))));
  const started = Date.now();
  const base = Date.now() - count * 60_000;
  for (let done = 0; done < count; done += 1000) {
    const batch = [];
    for (let i = done; i < Math.min(count, done + 1000); i++) {
      const words = Array.from({ length: 40 + Math.floor(random() * 120) }, () => zipf(random));
      if (random() < 0.3) words.splice(5, 0, JAPANESE[Math.floor(random() * JAPANESE.length)]);
      const at = new Date(base + i * 60_000);
      const tags = [TAGS[Math.floor(random() * TAGS.length)], TAGS[Math.floor(random() * TAGS.length)]].filter((t, k, a) => a.indexOf(t) === k);
      batch.push({
        note: {
          id: randomUUID(),
          ownerId,
          title: `${words[0]} ${words[1]} ${i}`,
          body: words.join(' '),
          visibility: 'private',
          createdAt: at,
          updatedAt: at,
          deletedAt: null,
        },
        tags,
      });
    }
    await db.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into('Note')
        .values(batch.map((b) => b.note))
        .updateEntity(false)
        .execute();
      await m
        .createQueryBuilder()
        .insert()
        .into('NoteTag')
        .values(batch.flatMap((b) => b.tags.map((t) => ({ noteId: b.note.id, tagId: tagIds[TAGS.indexOf(t)] }))))
        .updateEntity(false)
        .execute();
      // Oldest first, as writeMany wants them (its last note gets the lowest rowid): one entry at a time would
      // write each below the one before, and FTS5 would flush a segment for every note.
      await index.writeMany(
        m,
        batch.map((b) => ({ ...b.note, tags: b.tags })),
      );
    });
  }
  const seconds = (Date.now() - started) / 1000;
  // What a server that has been running does on its own: autovacuum's ANALYZE on PostgreSQL, the hourly
  // `PRAGMA optimize` on SQLite (the bench's server started before the notes existed).
  if (db.engine === 'postgres') await ds.query('ANALYZE');
  else await db.optimize();
  const ids = (await ds.query('SELECT id FROM notes ORDER BY created_at DESC LIMIT 1000')).map((r) => r.id);
  await ds.destroy();
  return { seconds, ids };
}

/** Single words of every frequency, each typed whole: the last word of a query also matches as a prefix. */
const FULL_WORDS = ['deploy', 'runbook', 'kubernetes', 'incident', 'invoice', RARE[300], RARE[5000], RARE[12000]];
/** Two letters, as a search-as-you-type box sends them first: starts of common words and of the rare syllable words. */
const PREFIXES = ['de', 'ru', 'ku', 'in', 'ka', 'ri', 'mo', 'ne', 'sa', 'to'];

/** autocannon options for GET /api/v1/notes?q= with each query of the list in turn. */
function rotating(url, headers, next, queries) {
  return {
    url: `${url}/api/v1/notes`,
    headers,
    requests: [{ setupRequest: (r) => ({ ...r, path: `/api/v1/notes?q=${encodeURIComponent(queries[next() % queries.length])}` }) }],
  };
}

async function engine(label, env) {
  let server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
  try {
    await msUntilOk(server, '/health/ready');
    const { session, token, userId } = await account(server.url);
    const { seconds, ids } = await seed(env, userId);
    // Measure a server that has been running with these notes, not one that watched another process write
    // 100,000 of them: that one was left with a 30 MiB write-ahead log it had not checkpointed and statements
    // planned for empty tables (SQLite search 36 req/s instead of 130, create 440 instead of 700).
    await stop(server);
    // Write the seeded files out now, not while the first requests are measured.
    execFileSync('sync');
    server = await startServer({ ...env, PUBLIC_URL: 'http://127.0.0.1' });
    await msUntilOk(server, '/health/ready');
    console.log(`\n### ${label}: ${NOTES.toLocaleString('en')} notes seeded in ${seconds.toFixed(0)} s (${Math.round(NOTES / seconds)} notes/s)\n`);
    const auth = { authorization: `Bearer ${token}` };
    let n = 0;
    const cases = [
      ['GET /health/live (ceiling)', { url: `${server.url}/health/live` }],
      ['GET /api/v1/notes (list, 20)', { url: `${server.url}/api/v1/notes`, headers: auth }],
      [
        'GET /api/v1/notes/:id',
        { url: `${server.url}/api/v1/notes`, headers: auth, requests: [{ setupRequest: (r) => ({ ...r, path: `/api/v1/notes/${ids[n++ % ids.length]}` }) }] },
      ],
      [
        'GET /api/v1/notes?q= (search)',
        {
          url: `${server.url}/api/v1/notes`,
          headers: auth,
          requests: [
            {
              setupRequest: (r) => {
                // Words of every frequency, a phrase, an exclusion, a tag, Japanese.
                const qs = [
                  'incident postmortem',
                  '"deploy restart"',
                  'kubernetes -draft',
                  '東京',
                  'tag:tag7 budget',
                  'runbook',
                  '設計',
                  RARE[300],
                  RARE[5000],
                  `${RARE[40]} ${RARE[41]}`,
                ];
                return { ...r, path: `/api/v1/notes?q=${encodeURIComponent(qs[n++ % qs.length])}` };
              },
            },
          ],
        },
      ],
      ['GET /notes (HTML list)', { url: `${server.url}/notes`, headers: { cookie: session } }],
      // Search as you type against whole words, in the same run: one word each, common to rare.
      ['GET /api/v1/notes?q= (full word)', rotating(server.url, auth, () => n++, FULL_WORDS)],
      ['GET /api/v1/notes?q= (prefix, 2 letters)', rotating(server.url, auth, () => n++, PREFIXES)],
      // Creates last: thousands of new notes without the searched words at the front of the index would make
      // PostgreSQL's newest-first walk pass them on every search measured after (see docs/benchmarks.md).
      [
        'POST /api/v1/notes (create)',
        {
          url: `${server.url}/api/v1/notes`,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: NEW_NOTE,
        },
      ],
    ];
    // The ceiling is measured first and again last; the higher one is used, so that a machine busy at one of
    // those moments (page-cache write-back after seeding, say) cannot flatter the shares. Each request kind
    // also gets a ceiling of its own, measured just before and just after it (5 s each): this machine's
    // speed drifts by a quarter within minutes, and a pair measured back to back sees the same machine.
    // (5 s each, whatever BENCH_SECONDS is.)
    const measured = [];
    const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));
    const pairedCeiling = async () => {
      await run({ ...cases[0][1], duration: 1 }); // warm-up, not counted
      return (await run({ ...cases[0][1], duration: 5 })).requests.average;
    };
    const one = { word: [], prefix: [] };
    let searching, probing;
    // Searches measured before the creates (the last kind), on the seeded notes alone.
    const searchLatency = async () => {
      // Latency is stated at one connection, one person typing, where queueing does not decide it: whole words and
      // two-letter prefixes, request by request in turn, so that whatever slows the machine for a moment (another
      // process, a collection) falls on both alike.
      const [words, prefixes] = [FULL_WORDS, PREFIXES].map((queries) => queries.map((q) => `${server.url}/api/v1/notes?q=${encodeURIComponent(q)}`));
      const sent = [];
      const result = await measure(DURATION, () => {
        const i = sent.length;
        const kind = i % 2 === 0 ? 'word' : 'prefix';
        sent.push(kind);
        const list = kind === 'word' ? words : prefixes;
        return [list[Math.floor(i / 2) % list.length], { headers: auth }];
      });
      if (result.failed) throw new Error(`${result.failed} searches at one connection failed`);
      // measure() warms up first with the same next(): the measured requests are the last ones sent.
      const kinds = sent.slice(-result.times.length);
      result.times.forEach((t, i) => one[kinds[i]].push(t));
      // A probe's latency while searches run: searches are bounded by the page, so the event loop keeps answering.
      [searching, probing] = await Promise.all([run({ ...cases[3][1], connections: 10 }), run({ ...cases[0][1], connections: 10 })]);
    };
    for (const [i, [name, opts]] of [...cases, cases[0]].entries()) {
      const paired = i > 0 && i < cases.length;
      if (name === 'POST /api/v1/notes (create)') await searchLatency();
      const before = paired ? await pairedCeiling() : null;
      await run({ ...opts, duration: 2 }); // warm-up
      const result = await run(opts);
      // What a heavy request kind leaves behind (a write-ahead log to checkpoint) would lower the ceiling
      // measured right after it, and flatter its share.
      if (paired) await settle();
      const after = paired ? await pairedCeiling() : null;
      measured.push([name, result, paired ? [before, after] : null]);
    }
    const ceilings = [measured[0][1].requests.average, measured[measured.length - 1][1].requests.average];
    const ceiling = Math.max(...ceilings);
    console.log(
      `ceiling (GET /health/live) measured first and last: ${ceilings.map((c) => c.toFixed(0)).join(' and ')} req/s; the run's share uses ${ceiling.toFixed(0)}\n`,
    );
    console.log('| request | req/s | p50 ms | p99 ms | share of run ceiling | paired ceiling (before / after) | share of paired (mean) | non-2xx |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, r, pair] of measured.slice(0, -1)) {
      const mean = pair === null ? null : (pair[0] + pair[1]) / 2;
      const paired = pair === null ? '–' : pair.map((c) => c.toFixed(0)).join(' / ');
      const share = pair === null ? '–' : `${((r.requests.average / mean) * 100).toFixed(0)}% of ${mean.toFixed(0)}`;
      console.log(
        `| ${name} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${((r.requests.average / ceiling) * 100).toFixed(0)}% | ${paired} | ${share} | ${r.non2xx} |`,
      );
    }
    const p99 = (name) => measured.find(([m]) => m === name)[1].latency.p99;
    const [prefix, word] = [p99('GET /api/v1/notes?q= (prefix, 2 letters)'), p99('GET /api/v1/notes?q= (full word)')];
    console.log(`\nAt 50 connections (where queueing decides latency): prefix of 2 letters p99 ${prefix} ms, full word p99 ${word} ms`);
    const [w1, p1] = [percentiles(one.word), percentiles(one.prefix)];
    const ms = (v) => v.toFixed(2);
    console.log(
      `At 1 connection: full word p50 ${ms(w1.p50)} / p99 ${ms(w1.p99)} ms (${one.word.length} searches), prefix of 2 letters p50 ${ms(p1.p50)} / p99 ${ms(p1.p99)} ms (${one.prefix.length}): prefix p99 ${p1.p99 <= w1.p99 ? 'under' : 'OVER'} the full word's`,
    );
    console.log(
      `\nAt once, 10 connections each: search ${searching.requests.average.toFixed(0)} req/s (p99 ${searching.latency.p99} ms) while GET /health/live answers ${probing.requests.average.toFixed(0)} req/s, p50 ${probing.latency.p50} ms, p99 ${probing.latency.p99} ms, max ${probing.latency.max} ms`,
    );
  } finally {
    await stop(server);
  }
}

exports._account = account;
exports._seed = seed;
exports._newNote = NEW_NOTE;
/** The generator's vocabulary, shared with the scale suite. */
exports._vocabulary = { COMMON, RARE, zipf, JAPANESE, TAGS };
exports.run = async () => {
  console.log(
    `${NOTES.toLocaleString('en')} notes per engine; ${DURATION} s per request kind at 50 connections (after a 2 s warm-up); load generator on the same 2 cores.`,
  );
  const only = process.env.BENCH_ENGINE; // sqlite or postgres: one engine, for a quicker look
  if (only !== 'postgres') await engine('SQLite', { DATABASE_PATH: join(tempDir(), 'kiroku.sqlite') });
  if (only === 'sqlite') return;
  const cluster = await testing.startPostgres();
  try {
    await engine('PostgreSQL 15', { DATABASE_URL: await cluster.createDatabase('bench_notes') });
  } finally {
    await cluster.destroy();
  }
};
