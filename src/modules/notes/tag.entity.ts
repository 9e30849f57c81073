import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { User } from '../auth';

/** A tag belongs to its owner: two people's "work" tags are different rows. */
@Entity({ name: 'tags' })
@Unique('uq_tags_owner_name', ['ownerId', 'name'])
export class Tag {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_tags' })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'fk_tags_owner' })
  owner?: User;

  /** [a-z0-9_-]{1,32} */
  @Column({ type: 'varchar', length: 32 })
  name!: string;
}
