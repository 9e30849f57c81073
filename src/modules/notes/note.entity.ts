import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { User } from '../auth';

/** private: the owner only; team: every signed-in member (an enabled account); public: anyone with the link. */
export type Visibility = 'private' | 'team' | 'public';
export const VISIBILITIES: Visibility[] = ['private', 'team', 'public'];

/** A boolean column as both engines give it back (SQLite: 0 or 1). */
export const booleanColumn = { to: (v: boolean) => v, from: (v: unknown) => v === true || v === 1 || v === '1' };

@Entity({ name: 'notes' })
@Index('idx_notes_owner_created', ['ownerId', 'createdAt', 'id'])
@Index('idx_notes_owner_pinned_updated', ['ownerId', 'pinned', 'updatedAt', 'id'])
@Index('idx_notes_owner_pinned_created', ['ownerId', 'pinned', 'createdAt', 'id'])
@Index('idx_notes_deleted_at', ['deletedAt'])
@Index('idx_notes_visibility_updated', ['visibility', 'updatedAt', 'id'])
@Index('idx_notes_visibility_created', ['visibility', 'createdAt', 'id'])
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

  /** With visibility team: every member may edit it too (a versioned save, as the owner's). Only the owner changes this. */
  @Column({ type: 'boolean', default: false, transformer: booleanColumn })
  editableByTeam!: boolean;

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
  @Column({ type: 'boolean', default: false, transformer: booleanColumn })
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
