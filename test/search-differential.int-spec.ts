import fc from 'fast-check';
import { Accounts } from '../src/modules/auth';
import { Database } from '@kiroku/persistence';
import { NotesRepository, NotesService } from '../src/modules/notes';
import { ENGINES, freshDatabase, postgresMissing } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

/**
 * SQLite and PostgreSQL must give the same answers to every search. fast-check makes small corpora of the
 * text people write (words, numbers, hyphenated and dotted forms, dates, e-mail addresses, underscores,
 * accents, full-width forms, Japanese / Chinese / Korean runs, emoji, mixed scripts) and queries drawn from
 * them (words, parts of words, prefixes, phrases, exclusions, tags, OR, CJK substrings of 1 to 4
 * characters); both engines get the same notes, and each query must find the same set of notes on both. A
 * failure shrinks to a small corpus and query. CI runs a fixed seed; `npm run bench -- search-diff` runs
 * many more cases with a new seed (SEARCH_DIFF_SEED and SEARCH_DIFF_RUNS set either).
 */
const SEED = Number(process.env.SEARCH_DIFF_SEED ?? 2112);
const RUNS = Number(process.env.SEARCH_DIFF_RUNS ?? 100);

const WORDS = ['plum', 'apple', 'apply', 'deploy', 'Deploy', 'v2', 'or', 'the', 'x', 'ab', 'ABC', 'foo', 'bar'];
const ACCENTED = ['café', 'Cafe', 'naïve', 'Müller', 'ÉCOLE', 'École', 'İstanbul', 'ΟΔΟΣ', 'άλφα', 'señor', 'ø', 'ß'];
const WIDE = ['ＡＰＩ', 'api', '１２３', '123', 'ｶﾀｶﾅ', 'カタカナ', '①'];
const CJK_CHARS = [...'東京都会議設計明日は中文字한국어서울の'];
const EMOJI = ['🍎', '👍🏽', '1️⃣', '🇯🇵', '❤️'];
const TAGS = ['ops', 'draft', '会議', 'node.js', 'ops-team'];

const word = fc.constantFrom(...WORDS);
const number = fc.oneof(fc.integer({ min: 0, max: 200 }).map(String), fc.constantFrom('007', '2026', '12', '04', '137'));
const cjk = fc.array(fc.constantFrom(...CJK_CHARS), { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));

/** One piece of text, as people write them. */
const piece: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: word, weight: 4 },
  { arbitrary: number, weight: 2 },
  fc.tuple(word, number).map(([w, n]) => `${w}-${n}`),
  fc.tuple(word, word).map(([a, b]) => `${a}-${b}`),
  fc.tuple(number, number, number).map(([a, b, c]) => `v${a}.${b}.${c}`),
  fc.constantFrom('2026-12-04', '2026-12-05', '12-04', '2026/12/04'),
  fc.tuple(word, word).map(([a, b]) => `${a}@${b}.com`),
  fc.tuple(word, word).map(([a, b]) => `${a}_${b}`),
  fc.constantFrom('C++', 'C#', 'node.js', '-137', '+1', '1.5', '3,000', "don't"),
  fc.constantFrom(...ACCENTED),
  fc.constantFrom(...WIDE),
  { arbitrary: cjk, weight: 3 },
  fc.tuple(word, cjk).map(([w, c]) => `${w}${c}`),
  fc.constantFrom(...EMOJI),
  fc.tuple(fc.constantFrom(...EMOJI), word).map(([e, w]) => `${e}${w}`),
);
const separator = fc.constantFrom(' ', ' ', '\n', ', ', '. ', ' — ', '(', ') ', '\t');
const text = (max: number) =>
  fc.array(fc.tuple(piece, separator), { maxLength: max }).map((parts) =>
    parts
      .map(([p, s]) => p + s)
      .join('')
      .trim(),
  );

interface NoteSpec {
  title: string;
  body: string;
  tags: string[];
}
const note: fc.Arbitrary<NoteSpec> = fc.record({
  title: text(3).map((t) => t || 'untitled'),
  body: text(12),
  tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 2 }),
});

/** The pieces and runs of CJK characters in a text: what a query may quote from it. */
const piecesOf = (s: string) => s.split(/[\s,()—]+/).filter(Boolean);
const cjkRuns = (s: string) => s.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu) ?? [];

/** A query made from what the corpus holds. */
function queryOf(corpus: NoteSpec[]): fc.Arbitrary<string> {
  const texts = corpus.flatMap((n) => [n.title, n.body]);
  const pieces = [...new Set(texts.flatMap(piecesOf))];
  const runs = [...new Set(texts.flatMap(cjkRuns))];
  const term = pieces.length ? fc.oneof(fc.constantFrom(...pieces), word) : word;
  // Parts of a piece (plum of plum-137, 04 of 2026-12-04) and its first characters (a prefix as typed).
  const part = term.chain((p) => {
    const parts = p.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    return parts.length ? fc.constantFrom(...parts) : fc.constant(p);
  });
  const prefix = fc.tuple(term, fc.integer({ min: 1, max: 4 })).map(([p, n]) => [...p].slice(0, n).join(''));
  const phrase = texts.length
    ? fc.tuple(fc.constantFrom(...texts), fc.nat(), fc.integer({ min: 1, max: 3 })).map(([t, at, n]) => {
        const words = piecesOf(t);
        return `"${words.slice(at % Math.max(words.length, 1), (at % Math.max(words.length, 1)) + n).join(' ')}"`;
      })
    : fc.constant('"plum 137"');
  const cjkSubstring = runs.length
    ? fc.tuple(fc.constantFrom(...runs), fc.nat(), fc.integer({ min: 1, max: 4 })).map(([run, at, n]) => {
        const chars = [...run];
        const from = at % chars.length;
        return chars.slice(from, from + n).join('');
      })
    : fc.constantFrom(...CJK_CHARS);
  const single = fc.oneof(term, part, prefix, phrase, cjkSubstring);
  return fc.oneof(
    { arbitrary: single, weight: 4 },
    fc.tuple(single, single).map(([a, b]) => `${a} ${b}`),
    fc.tuple(single, single).map(([a, b]) => `${a} -${b}`),
    single.map((a) => `-${a}`),
    fc.tuple(single, fc.constantFrom(...TAGS)).map(([a, t]) => `${a} tag:${t}`),
    fc.tuple(single, fc.constantFrom(...TAGS)).map(([a, t]) => `${a} -tag:${t}`),
    fc.tuple(single, single).map(([a, b]) => `${a} OR ${b}`),
    fc.tuple(single, single, single).map(([a, b, c]) => `${a} OR ${b} ${c}`),
  );
}

const pgMissing = postgresMissing();
const describeBoth = pgMissing ? describe.skip : describe;
if (pgMissing) console.warn(`SKIPPED: search differential test (${pgMissing})`);

describeBoth('search gives the same notes on SQLite and PostgreSQL', () => {
  const apps: TestApp[] = [];
  const owners: string[] = [];
  let notes: NotesService[] = [];

  beforeAll(async () => {
    for (const engine of ENGINES) {
      // One PostgreSQL connection, so that a planner setting of this test holds for every statement.
      const t = await startTestApp({ ...(await freshDatabase(engine)), DATABASE_POOL_SIZE: '1' });
      apps.push(t);
      const created = await t.app.get(Accounts).create({ email: 'differ@example.com', displayName: 'Differ', password: 'a long enough passphrase' }, 'admin');
      if (!('user' in created)) throw new Error('no user');
      owners.push(created.user.id);
    }
    notes = apps.map((t) => t.app.get(NotesService));
  });
  afterAll(async () => {
    for (const t of apps) await t.close();
  });

  /** The corpus written to both engines, replacing the last one: note i is `n${i}`, created a minute after note i - 1. */
  const writeCorpus = async (corpus: NoteSpec[]): Promise<Array<Map<string, number>>> =>
    Promise.all(
      notes.map(async (service, e) => {
        for (const old of (await service.list(owners[e], { limit: 500 })).items) await service.trash(owners[e], old.id);
        await service.emptyTrash(owners[e]);
        const base = Date.UTC(2026, 11, 4);
        await service.importMany(
          owners[e],
          corpus.map((n, i) => ({ ...n, visibility: 'private' as const, createdAt: new Date(base + i * 60_000), updatedAt: new Date(base + i * 60_000) })),
        );
        const written = (await service.list(owners[e], { limit: 500 })).items;
        // Titles repeat; creation times do not.
        return new Map(written.map((n) => [n.id, (n.createdAt.getTime() - base) / 60_000]));
      }),
    );

  /** The numbers of the notes each engine finds for the query, in order of the engines (pages of `limit`, up to 100 notes). */
  const found = async (q: string, ids: Array<Map<string, number>>, limit = 500): Promise<number[][]> =>
    Promise.all(
      notes.map(async (service, e) => {
        const result = await service.list(owners[e], { q, limit });
        const items = [...result.items];
        for (let cursor = result.nextCursor; cursor && items.length < 100;) {
          const next = await service.list(owners[e], { q, limit, cursor });
          items.push(...next.items);
          cursor = next.nextCursor;
        }
        return items.map((n) => ids[e].get(n.id)!).sort((a, b) => a - b);
      }),
    );

  /** PostgreSQL's app and database handle. */
  const postgres = () => {
    const t = apps[ENGINES.indexOf('postgres')];
    return { db: t.app.get(Database), notes: t.app.get(NotesRepository) };
  };

  it.each([
    ['137', [0]],
    ['plum', [0, 2]],
    ['plum-137', [0]],
    ['"plum 137"', [0]],
    ['PLUM-137', [0]],
    ['plum-13', [0]],
    ['2026-12-04', [1]],
    ['12-04', [1]],
    ['04', [1]],
    ['2026', [1, 3]],
    ['"2026 12 04"', [1]],
    ['2026-12', [1, 3]],
    ['-137', [1, 2, 3]],
  ])('finds %j in the notes %j on both engines (named cases: plum-137 and 2026-12-04)', async (q, expected) => {
    const ids = await writeCorpus([
      { title: 'fruit', body: 'Order plum-137 today.', tags: [] },
      { title: 'meeting', body: 'Due 2026-12-04, see notes', tags: [] },
      { title: 'plum jam', body: 'no number here', tags: [] },
      { title: 'year', body: '2026-12-05', tags: [] },
    ]);
    expect(await found(q, ids)).toEqual([expected, expected]);
  });

  it('for generated corpora and queries drawn from them, with a fixed seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(note, { minLength: 1, maxLength: 6 })
          .chain((corpus) => fc.tuple(fc.constant(corpus), fc.array(queryOf(corpus), { minLength: 1, maxLength: 8 }))),
        async ([corpus, queries]) => {
          const ids = await writeCorpus(corpus);
          for (const q of queries) {
            const [sqlite, postgres] = await found(q, ids);
            expect({ q, postgres }).toEqual({ q, postgres: sqlite });
          }
        },
      ),
      {
        seed: SEED,
        numRuns: RUNS,
        examples: [
          [
            [
              [{ title: 'plum-137', body: 'due 2026-12-04 to ada@example.com, v2.0.1 foo_bar C++', tags: ['ops'] }],
              ['137', 'plum-137', '2026-12-04', '12', 'ada@example.com'],
            ],
          ],
        ],
      },
    );
  });

  it('with the plans chosen from PostgreSQL’s statistics: the same notes, walked or gathered', async () => {
    const { db, notes: repository } = postgres();
    // As on a large table, where PostgreSQL's kept plan of a gather reads the GIN index.
    await db.manager.query('SET enable_seqscan = off');
    const selected = jest.spyOn(db, 'selectValues');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc
            .array(note, { minLength: 1, maxLength: 6 })
            .chain((corpus) => fc.tuple(fc.constant(corpus), fc.array(queryOf(corpus), { minLength: 1, maxLength: 8 }))),
          async ([corpus, queries]) => {
            const ids = await writeCorpus(corpus);
            await db.manager.query('ANALYZE note_search');
            await repository.refreshSearchStatistics();
            for (const q of queries) {
              // Pages of 2, so that paging from one part into the next is compared too.
              const [sqlite, postgresFound] = await found(q, ids, 2);
              expect({ q, postgres: postgresFound }).toEqual({ q, postgres: sqlite });
            }
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
      // The plans were chosen, both ways, not left to PostgreSQL.
      const kept = selected.mock.calls.filter(([sql, , options]) => /note_search/.test(sql) && !options?.planEach).map(([sql]) => sql);
      expect(kept.some((sql) => /(?<!NOT )ts_match_vq\(s\.(document|head), \$2/.test(sql))).toBe(true);
      expect(kept.some((sql) => sql.includes('@@ (SELECT'))).toBe(true);
    } finally {
      selected.mockRestore();
      await db.manager.query('RESET enable_seqscan');
    }
  });
});
