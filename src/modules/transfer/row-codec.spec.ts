import { decodeRow, encodeRow } from './row-codec';
import { PlannedTable } from './table-plan';

const table: PlannedTable = {
  name: 'samples',
  key: ['id'],
  columns: [
    { name: 'id', kind: 'text' },
    { name: 'n', kind: 'integer' },
    { name: 'flag', kind: 'boolean' },
    { name: 'data', kind: 'binary' },
    { name: 'x', kind: 'real' },
    { name: 'note', kind: 'text' },
  ],
};

describe('canonical rows', () => {
  it('gives the same line for what SQLite and PostgreSQL return for the same row', () => {
    const fromSqlite = { id: 'a', n: 9007199254740993n, flag: 1, data: Buffer.from([0, 255, 10]), x: 1.5, note: null };
    const fromPostgres = { id: 'a', n: '9007199254740993', flag: true, data: Buffer.from([0, 255, 10]), x: '1.5', note: null };
    expect(encodeRow(table, fromSqlite)).toBe('["a","9007199254740993",true,"AP8K",1.5,null]\n');
    expect(encodeRow(table, fromPostgres)).toBe(encodeRow(table, fromSqlite));
    expect(encodeRow(table, { ...fromSqlite, n: 1795901079716n })).toBe('["a",1795901079716,true,"AP8K",1.5,null]\n');
  });

  it('binds the values back exactly for each engine', () => {
    const line = '["é 東京 👩‍👩‍👧","9007199254740993",false,"AP8K",-0.25,"x\\ny"]';
    expect(decodeRow(table, line, 'sqlite')).toEqual(['é 東京 👩‍👩‍👧', 9007199254740993n, 0, Buffer.from([0, 255, 10]), -0.25, 'x\ny']);
    expect(decodeRow(table, line, 'postgres')).toEqual(['é 東京 👩‍👩‍👧', '9007199254740993', false, Buffer.from([0, 255, 10]), -0.25, 'x\ny']);
  });

  it('refuses lines that do not fit the columns', () => {
    expect(() => decodeRow(table, '["a"]', 'sqlite')).toThrow('samples: a line does not have 6 values');
    expect(() => decodeRow(table, '["a","12x",true,"",1,null]', 'sqlite')).toThrow('samples.n: "12x" is not a valid integer value');
    expect(() => decodeRow(table, '{"a":1', 'postgres')).toThrow('samples: a line is not valid JSON');
  });
});
