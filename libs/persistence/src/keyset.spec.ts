import type { SqlParam } from './database';
import { BadCursor, decodeKeyset, encodeKeyset, keysetPage, keysetSql, type KeysetPosition } from './keyset';

const columns = { at: 'n.created_at', id: 'n.id' };

describe('keyset cursors', () => {
  it('hand back the position they were made from', () => {
    const position = { at: 1_767_225_600_000, id: '0b0e8c4a-7f7e-4e0a-9a55-3f1c2d9e8b11' };
    expect(decodeKeyset(encodeKeyset(position))).toEqual(position);
    expect(encodeKeyset(position)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['not base64 of a cursor', 'bogus'],
    ['another kind of cursor', Buffer.from('o\n20').toString('base64url')],
    ['a negative instant', Buffer.from('k\n-5\nabc').toString('base64url')],
    ['an instant that is not a whole number', Buffer.from('k\n1.5\nabc').toString('base64url')],
    ['no id', Buffer.from('k\n15').toString('base64url')],
    ['an empty id', Buffer.from('k\n15\n').toString('base64url')],
  ])('refuse %s', (_, cursor) => {
    expect(() => decodeKeyset(cursor)).toThrow(BadCursor);
  });

  it('refuse an id the list would never have made', () => {
    const cursor = encodeKeyset({ at: 15, id: 'x; DROP TABLE notes' });
    expect(() => decodeKeyset(cursor, (id) => /^[0-9a-f-]{36}$/.test(id))).toThrow(BadCursor);
  });
});

describe('keysetSql', () => {
  it('on the first page: newest first, one row more than the page, after the params already there', () => {
    const params: SqlParam[] = ['owner'];
    expect(keysetSql(columns, null, 20, params)).toEqual({ where: null, orderAndLimit: 'ORDER BY n.created_at DESC, n.id DESC LIMIT $2' });
    expect(params).toEqual(['owner', 21]);
  });

  it('after a position: rows older than it, or as old with a smaller id', () => {
    const params: SqlParam[] = ['owner', 'tag'];
    const sql = keysetSql(columns, { at: 1000, id: 'b' }, 10, params);
    expect(sql).toEqual({ where: '(n.created_at < $3 OR (n.created_at = $3 AND n.id < $4))', orderAndLimit: 'ORDER BY n.created_at DESC, n.id DESC LIMIT $5' });
    expect(params).toEqual(['owner', 'tag', 1000, 'b', 11]);
  });
});

describe('keysetPage', () => {
  /** The rows of a table the SQL of keysetSql would return, evaluated here by the same rule. */
  function read(rows: KeysetPosition[], after: KeysetPosition | null, limit: number): KeysetPosition[] {
    return rows
      .filter((r) => !after || r.at < after.at || (r.at === after.at && r.id < after.id))
      .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
      .slice(0, limit + 1);
  }

  it('walks a list with rows of the same instant once each, and says when it is over', () => {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id, i) => ({ at: [5, 5, 5, 3, 3, 1, 1][i], id }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: KeysetPosition[]; nextCursor: string | null } = keysetPage(read(rows, cursor ? decodeKeyset(cursor) : null, 3), 3, (r) => r);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['c', 'b', 'a', 'e', 'd', 'g', 'f']);
    expect(pages).toBe(3);
  });

  it('gives no next cursor when the rows just fill the page', () => {
    const rows = [
      { at: 2, id: 'a' },
      { at: 1, id: 'b' },
    ];
    expect(keysetPage(rows, 2, (r) => r)).toEqual({ items: rows, nextCursor: null });
    expect(keysetPage([...rows, { at: 0, id: 'c' }], 2, (r) => r)).toEqual({ items: rows, nextCursor: encodeKeyset({ at: 1, id: 'b' }) });
  });
});
