import { loadConfig } from '@kiroku/config';
import { databaseAt, describeLocation, isPostgresUrl } from './endpoint';

describe('transfer locations', () => {
  const base = loadConfig({ env: { NODE_ENV: 'test', DATABASE_URL: 'postgres://app:app-secret@db:5432/kiroku' } }).database;

  it('reads a postgres:// URL as PostgreSQL and anything else as a SQLite file, keeping the other settings', () => {
    expect(isPostgresUrl('postgresql://h/db')).toBe(true);
    expect(isPostgresUrl('./postgres.sqlite')).toBe(false);
    const file = databaseAt(base, 'data/kiroku.sqlite');
    expect(file.engine).toBe('sqlite');
    expect(file.path).toMatch(/^\/.*\/data\/kiroku\.sqlite$/);
    expect(file.poolSize).toBe(base.poolSize);
    expect(databaseAt(base, 'postgres://u:p@other/x').engine).toBe('postgres');
    expect(base.url).toBe('postgres://app:app-secret@db:5432/kiroku');
  });

  it('never shows a password when it names a location', () => {
    expect(describeLocation(databaseAt(base, 'postgres://kiroku:s3cret%21@db.internal:5432/kiroku?sslmode=verify-full'))).toBe(
      'postgres://kiroku:***@db.internal:5432/kiroku?sslmode=verify-full',
    );
    expect(describeLocation(databaseAt(base, '/var/lib/kiroku/kiroku.sqlite'))).toBe('/var/lib/kiroku/kiroku.sqlite');
    // A socket URL that URL cannot parse, but pg can.
    expect(describeLocation(databaseAt(base, 'postgres://kiroku:s3cret@/kiroku?host=/var/run/postgresql'))).toBe(
      'postgres://kiroku:***@/kiroku?host=/var/run/postgresql',
    );
  });
});
