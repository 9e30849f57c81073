import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Note } from './note.entity';
import { Tag } from './tag.entity';

@Entity({ name: 'note_tags' })
@Index('idx_note_tags_tag_id', ['tagId'])
export class NoteTag {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_note_tags' })
  noteId!: string;

  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_note_tags' })
  tagId!: string;

  @ManyToOne(() => Note, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'note_id', foreignKeyConstraintName: 'fk_note_tags_note' })
  note?: Note;

  @ManyToOne(() => Tag, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tag_id', foreignKeyConstraintName: 'fk_note_tags_tag' })
  tag?: Tag;
}
