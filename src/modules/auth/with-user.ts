import type { Database } from '@kiroku/persistence';
import type { ObjectType } from 'typeorm';
import { User } from './user.entity';

/**
 * A credential's row found by its unique key (`id_hash` of a session, `prefix` of a token), joined with the
 * account it belongs to, in one prepared statement of constant text: each request that carries a cookie or a
 * token reads one.
 */
export async function findWithUser<T>(db: Database, entity: ObjectType<T>, table: string, key: string, value: string): Promise<{ row: T; user: User } | null> {
  const c = db.columns(entity, 'c');
  const u = db.columns(User, 'u');
  const [values] = await db.selectValues(`SELECT ${c.sql}, ${u.sql} FROM ${table} c INNER JOIN users u ON u.id = c.user_id WHERE c.${key} = $1`, [value]);
  return values ? { row: c.read(values), user: u.read(values, c.count) } : null;
}
