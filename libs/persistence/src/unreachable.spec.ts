import { QueryFailedError } from 'typeorm';
import { databaseBusy, databaseUnreachable } from './unreachable';

const pgError = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('databaseUnreachable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a server shutting down (57P01)', new QueryFailedError('SELECT 1', [], pgError('57P01', 'terminating connection due to administrator command'))],
    ['a server starting (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', pgError('08006')],
    ['too many connections (53300)', pgError('53300')],
    ['a connection the pool lost', new Error('Connection terminated unexpectedly')],
    ['a pool that waited too long', new Error('timeout exceeded when trying to connect')],
    ['the cause of a wrapping error', new Error('query failed', { cause: pgError('57P01') })],
  ])('is true for %s', (_, error) => {
    expect(databaseUnreachable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', new QueryFailedError('INSERT', [], pgError('23505', 'duplicate key value'))],
    ['a syntax error', pgError('42601')],
    ['NUL in text (22021)', pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a SQLite constraint', Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['a plain error', new Error('boom')],
    ['nothing', undefined],
  ])('is false for %s', (_, error) => {
    expect(databaseUnreachable(error)).toBe(false);
  });
});

describe('databaseBusy', () => {
  const sqliteError = (code: string) => Object.assign(new Error('database is locked'), { code });
  it.each([
    ["SQLite's write lock held past the busy timeout", sqliteError('SQLITE_BUSY')],
    ['an extended busy code', sqliteError('SQLITE_BUSY_SNAPSHOT')],
    ['the same through TypeORM', new QueryFailedError('BEGIN IMMEDIATE', [], sqliteError('SQLITE_BUSY'))],
    ["PostgreSQL's lock_timeout (55P03)", pgError('55P03', 'canceling statement due to lock timeout')],
  ])('is true for %s', (_, error) => {
    expect(databaseBusy(error)).toBe(true);
  });

  it.each([
    ['a SQLite constraint', sqliteError('SQLITE_CONSTRAINT_UNIQUE')],
    ['an unreachable server', pgError('57P01')],
    ['a plain error', new Error('database is locked')],
    ['nothing', undefined],
  ])('is false for %s', (_, error) => {
    expect(databaseBusy(error)).toBe(false);
  });
});
