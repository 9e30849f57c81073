import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { booleanColumn, Note, type Visibility } from './note.entity';

/** A note as it was at one of its versions, kept when a later write changed its title, body, tags, visibility or team editing. */
@Entity({ name: 'note_revisions' })
export class NoteRevision {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_note_revisions' })
  noteId!: string;

  @ManyToOne(() => Note, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'note_id', foreignKeyConstraintName: 'fk_note_revisions_note' })
  note?: Note;

  /** The note's version this state was. */
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'pk_note_revisions' })
  version!: number;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ type: 'text' })
  body!: string;

  /** Space-separated, as notes.tag_names. */
  @Column({ type: 'text' })
  tagNames!: string;

  @Column({ type: 'varchar', length: 16 })
  visibility!: Visibility;

  @Column({ type: 'boolean', default: false, transformer: booleanColumn })
  editableByTeam!: boolean;

  /** Who wrote this version; null when unknown. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  authorId!: string | null;

  /** When this version was written. */
  @InstantColumn()
  savedAt!: Date;
}
