import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';

export type Role = 'user' | 'admin';
export const ROLES: Role[] = ['user', 'admin'];

/** The colour theme pages use: light, dark, or system (what the browser prefers). */
export type Theme = 'light' | 'dark' | 'system';
export const THEMES: Theme[] = ['system', 'light', 'dark'];
export const isTheme = (value: unknown): value is Theme => THEMES.includes(value as Theme);

@Entity({ name: 'users' })
@Unique('uq_users_email', ['email'])
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_users' })
  id!: string;

  /** Normalised: trimmed and lower-cased. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ type: 'varchar', length: 100 })
  displayName!: string;

  @Column({ type: 'varchar', length: 255 })
  passwordHash!: string;

  @Column({ type: 'varchar', length: 16, default: 'user' })
  role!: Role;

  /** en or ja; null follows the browser's Accept-Language. */
  @Column({ type: 'varchar', length: 8, nullable: true })
  locale!: string | null;

  /** IANA time zone dates are shown in. */
  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timeZone!: string;

  @Column({ type: 'varchar', length: 8, default: 'system' })
  theme!: Theme;

  @InstantColumn({ nullable: true })
  disabledAt!: Date | null;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn()
  updatedAt!: Date;

  @InstantColumn()
  passwordChangedAt!: Date;
}
