import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';

/** Failed-login counter for one account or one client address, shared by every replica. */
@Entity({ name: 'login_throttles' })
@Index('idx_login_throttles_updated_at', ['updatedAt'])
export class LoginThrottle {
  /** `account:<sha256 of the email>` or `ip:<address>`. */
  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'pk_login_throttles' })
  key!: string;

  @Column({ type: 'integer' })
  failures!: number;

  @InstantColumn({ nullable: true })
  lockedUntil!: Date | null;

  @InstantColumn()
  updatedAt!: Date;
}
