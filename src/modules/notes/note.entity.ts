import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { User } from '../auth';

export type Visibility = 'private' | 'public';
export const VISIBILITIES: Visibility[] = ['private', 'public'];

@Entity({ name: 'notes' })
@Index('idx_notes_owner_created', ['ownerId', 'createdAt', 'id'])
@Index('idx_notes_owner_pinned_updated', ['ownerId', 'pinned', 'updatedAt', 'id'])
@Index('idx_notes_owner_pinned_created', ['ownerId', 'pinned', 'createdAt', 'id'])
@Index('idx_notes_deleted_at', ['deletedAt'])
export class Note {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_notes' })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'fk_notes_owner' })
  owner?: User;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'varchar', length: 16, default: 'private' })
  visibility!: Visibility;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn()
  updatedAt!: Date;

  /** Raised by every write; a save names the version it started from and loses to any other write since. */
  @Column({ type: 'integer', default: 1 })
  version!: number;

  /** Who wrote this version (no foreign key: the account may be deleted since). */
  @Column({ type: 'varchar', length: 36, nullable: true })
  updatedBy!: string | null;

  /** Shown before the others in the list. An arrangement, not content: pinning changes neither updatedAt nor the search entry. */
  @Column({ type: 'boolean', default: false, transformer: { to: (v: boolean) => v, from: (v: unknown) => v === true || v === 1 || v === '1' } })
  pinned!: boolean;

  /** In the trash since; purged 30 days later. */
  @InstantColumn({ nullable: true })
  deletedAt!: Date | null;

  /**
   * Its tag names, space-separated in byte order ('' for none): a copy of
   * note_tags that database triggers keep (migration AddTagNamesToNotes), so
   * that a page of notes is one statement. Read it; never write it.
   */
  @Column({ type: 'text', default: '' })
  tagNames!: string;
}

/** The tag names of a `tagNames` column. */
export const splitTagNames = (tagNames: string): string[] => (tagNames ? tagNames.split(' ') : []);
