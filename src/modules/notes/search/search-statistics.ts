import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Database } from '@kiroku/persistence';
import type { ParsedQuery, SearchTerm } from './query';
import type { Reach, SearchPart, SearchShape } from './search-index';

/** How a part of a search is read, and how many matches it is expected to find within the reach. */
export interface PartPlan {
  shape: SearchShape;
  matches: number;
}

/**
 * Cost of one match gathered (fetched from the table and sorted), counted in entries walked: at 100,000 notes a
 * walk passed an entry in about 0.34 µs and a gather took about 1.0 µs a match (`EXPLAIN ANALYZE`, words from
 * 0.2% to 99% of the notes).
 */
const GATHER_COST = 3;

/** How long the frequencies are kept before they are read again (autovacuum's ANALYZE renews PostgreSQL's). */
const REFRESH_MS = 5 * 60_000;

/** A tsvector column's lexemes that ANALYZE found most common, with the share of entries holding each. */
interface Lexemes {
  /** In code-unit order, so that the lexemes a prefix begins are one run. */
  lexemes: string[];
  frequencies: number[];
  /** The share assumed for a lexeme not listed: below the least listed one's (as PostgreSQL's own estimate). */
  unlisted: number;
}

interface Statistics {
  /** Entries in note_search (pg_class.reltuples). */
  entries: number;
  document: Lexemes;
  head: Lexemes;
  /** The share of entries of each owner ANALYZE found most common. */
  owners: Map<string, number>;
  /** The share assumed for any other owner. */
  otherOwner: number;
  /** The share of team entries (found by the team's searches). */
  team: number;
  /**
   * The parts whose gather PostgreSQL's kept (generic) plan reads from the GIN index. Not knowing the words, it
   * prefers a scan of the whole table while the table is small (8,000 entries in the tests, with its default costs),
   * which for a rare word costs more than planning the search for its words: such a part is not given a shape.
   */
  gathers: Set<SearchPart>;
}

/** A gather's statement for PostgreSQL to plan without its values: its SQL ($1 the owner, $2 the words) and those values as SQL literals. */
export type GatherProbe = (part: SearchPart) => { sql: string; literals: string[] };

interface StatisticsRow {
  column: 'document' | 'head' | 'owner_id' | 'team';
  elems: string[] | null;
  elemFreqs: number[] | null;
  vals: string[] | null;
  freqs: number[] | null;
  distinct: number;
  nulls: number;
  entries: number;
}

/**
 * The plan of a PostgreSQL search, chosen by the application from PostgreSQL's own statistics, so that the
 * statement can stay prepared (no planning at each search: it took half of PostgreSQL's time per search, 0.45 of
 * 1.1 ms at 100,000 notes) while the best way to read still follows how common the words are: a common word is
 * met within the newest entries, a rare one is gathered from the index. The frequencies are ANALYZE's (pg_stats:
 * the most common lexemes of note_search.document and .head, the most common owners), read at most every five
 * minutes; until they are read, or where they do not serve (Mine-and-team searches, tag filters, a gather PostgreSQL
 * would not read from its index), PostgreSQL plans the search itself at each call, as before.
 */
export class SearchStatistics {
  private readonly logger = new Logger('SearchStatistics');
  private statistics: Statistics | null = null;
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly db: Pick<Database, 'select' | 'transaction'>,
    private readonly probe: GatherProbe,
  ) {}

  /**
   * The plan of each of `parts` of a search of `query` within `reach`, reading `take` rows each: its shape and
   * the matches it is expected to find; null when the statistics do not serve it (then PostgreSQL plans the
   * statement for its values). Starts a read of the statistics when they are older than five minutes; the
   * search does not wait for it.
   */
  plan(reach: Reach, query: ParsedQuery, parts: SearchPart[], take: number): PartPlan[] | null {
    if (performance.now() - this.readAt > REFRESH_MS) void this.refresh();
    const stats = this.statistics;
    // Mine-and-team has no index walk in its order (two indexes): PostgreSQL plans it.
    if (!stats || reach.scope === 'all' || query.tags.length > 0 || query.include.length === 0) return null;
    const reached = stats.entries * (reach.scope === 'team' ? stats.team : (stats.owners.get(reach.ownerId) ?? stats.otherOwner));
    const inDocument = share(stats.document, query.include);
    const inHead = Math.min(share(stats.head, query.include), inDocument);
    const kept = query.exclude.length ? 1 - share(stats.document, [query.exclude]) : 1;
    const plans = parts.map((part) => {
      // A part's own share of the entries (what a walk meets), and the matches its index holds (what a gather reads).
      const [own, indexed] = part === 'head' ? [inHead, inHead] : part === 'rest' ? [inDocument * (1 - inHead), inDocument] : [inDocument, inDocument];
      const walked = Math.min(reached, take / Math.max(own * kept, Number.MIN_VALUE));
      return { shape: walked <= GATHER_COST * indexed * stats.entries ? 'walk' : 'gather', matches: own * kept * reached } as const;
    });
    return plans.every((p, i) => p.shape === 'walk' || stats.gathers.has(parts[i] === 'head' ? 'head' : 'rest')) ? plans : null;
  }

  /** Reads the statistics again now (a failure is logged, the ones read before stay). */
  refresh(): Promise<void> {
    this.reading ??= this.read()
      .catch((error: Error) =>
        this.logger.warn(
          `Could not read PostgreSQL's search statistics (${error.message}): searches keep the plans of the last ones read, or without any are planned by PostgreSQL at each call; next try in five minutes.`,
        ),
      )
      .finally(() => {
        this.readAt = performance.now();
        this.reading = null;
      });
    return this.reading;
  }

  private async read(): Promise<void> {
    const rows = await this.db.select<StatisticsRow>(
      `SELECT s.attname AS "column", s.most_common_elems::text::text[] AS "elems", s.most_common_elem_freqs AS "elemFreqs",
              s.most_common_vals::text::text[] AS "vals", s.most_common_freqs AS "freqs", s.n_distinct AS "distinct",
              s.null_frac AS "nulls", c.reltuples AS "entries"
         FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass(quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))
        WHERE s.schemaname = current_schema() AND s.tablename = 'note_search' AND s.attname IN ('document', 'head', 'owner_id', 'team')`,
    );
    const of = (column: StatisticsRow['column']) => rows.find((r) => r.column === column);
    const [document, head, owner, team] = [of('document'), of('head'), of('owner_id'), of('team')];
    // No statistics until the table's first ANALYZE (autovacuum's, once enough notes are written).
    if (!document?.elems || !head || !owner || !(document.entries > 0)) {
      this.statistics = null;
      return;
    }
    const gathers = new Set<SearchPart>();
    for (const part of ['head', 'rest'] as const) if (await this.gathersFromIndex(part)) gathers.add(part);
    this.statistics = {
      entries: document.entries,
      document: lexemes(document),
      head: lexemes(head),
      ...owners(owner, document.entries),
      team: teamShare(team),
      gathers,
    };
    this.logger.debug(
      `Search statistics read: ${document.entries} entries, ${document.elems.length} words; rare words gathered from the index in ${gathers.size ? [...gathers].join(' and ') : 'no part'}.`,
    );
  }

  /** Whether PostgreSQL's generic plan of a gather of `part` reads its GIN index (asked of PostgreSQL: EXPLAIN of the plan it would keep). */
  private gathersFromIndex(part: 'head' | 'rest'): Promise<boolean> {
    const { sql, literals } = this.probe(part);
    const index = part === 'head' ? 'idx_note_search_head' : 'idx_note_search_document';
    // A prepared statement outlives a failed transaction, in which DEALLOCATE fails too: a name of its own each
    // time, so that one left behind never stops the next probe.
    const name = `kiroku_gather_probe_${randomBytes(6).toString('hex')}`;
    return this.db.transaction(async (m) => {
      await m.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await m.query(`PREPARE ${name} AS ${sql}`);
      try {
        const [{ 'QUERY PLAN': plan }] = await m.query<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
          `EXPLAIN (FORMAT JSON) EXECUTE ${name}(${literals.join(', ')})`,
        );
        return readsIndex(plan[0].Plan, index);
      } finally {
        await m.query(`DEALLOCATE ${name}`).catch(() => undefined);
      }
    });
  }
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const readsIndex = (node: PlanNode, index: string): boolean => node['Index Name'] === index || (node.Plans ?? []).some((child) => readsIndex(child, index));

function lexemes(row: StatisticsRow): Lexemes {
  const elems = row.elems ?? [];
  const freqs = row.elemFreqs ?? [];
  // After the lexemes' frequencies, the least and the greatest of them.
  const least = freqs[elems.length] ?? 0;
  const order = elems.map((_, i) => i).sort((a, b) => (elems[a] < elems[b] ? -1 : elems[a] > elems[b] ? 1 : 0));
  return { lexemes: order.map((i) => elems[i]), frequencies: order.map((i) => freqs[i]), unlisted: Math.min(0.005, least / 2) };
}

function owners(row: StatisticsRow, entries: number): Pick<Statistics, 'owners' | 'otherOwner'> {
  const vals = row.vals ?? [];
  const freqs = row.freqs ?? [];
  const listed = freqs.reduce((sum, f) => sum + f, 0);
  // n_distinct below zero is a share of the rows.
  const distinct = row.distinct < 0 ? -row.distinct * entries : row.distinct;
  const others = Math.max(distinct - vals.length, 1);
  return { owners: new Map(vals.map((v, i) => [v, freqs[i]])), otherOwner: Math.max(1 - listed - row.nulls, 0) / others };
}

/** The share of team entries: `true` among the column's most common values (no row: none yet). */
function teamShare(row: StatisticsRow | undefined): number {
  const vals = row?.vals ?? [];
  const freqs = row?.freqs ?? [];
  return freqs[vals.findIndex((v) => v === 'true' || v === 't')] ?? 0;
}

/** The share of entries holding every group of terms (each any of its terms), the words taken as independent. */
function share(column: Lexemes, groups: SearchTerm[][]): number {
  return groups.reduce((all, group) => all * (1 - group.reduce((none, term) => none * (1 - termShare(column, term)), 1)), 1);
}

/** A term's share: each of its tokens present (a phrase is at most that), the last one as a prefix when it is one. */
function termShare(column: Lexemes, term: SearchTerm): number {
  const last = term.tokens.length - 1;
  return term.tokens.reduce((all, token, i) => all * lexemeShare(column, token, i === last && term.prefix), 1);
}

/** A lexeme's share, or with `prefix` the share of entries holding any lexeme it begins. */
function lexemeShare(column: Lexemes, token: string, prefix: boolean): number {
  const { lexemes, frequencies, unlisted } = column;
  let low = 0;
  let high = lexemes.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (lexemes[mid] < token) low = mid + 1;
    else high = mid;
  }
  if (!prefix) return lexemes[low] === token ? frequencies[low] : unlisted;
  let none = 1;
  for (let i = low; i < lexemes.length && lexemes[i].startsWith(token); i++) none *= 1 - frequencies[i];
  return Math.max(1 - none, unlisted);
}
