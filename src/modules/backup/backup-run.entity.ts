import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber as byteCount, InstantColumn } from '@kiroku/persistence';

export type BackupStatus = 'running' | 'succeeded' | 'failed';
export type VerifyStatus = 'passed' | 'failed';

/**
 * One backup run, successful or not: the catalog. The same facts travel in a
 * manifest beside the backup object, so a backup can be listed and checked
 * without this database.
 */
@Entity({ name: 'backup_runs' })
@Index('idx_backup_runs_started_at', ['startedAt'])
export class BackupRun {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_backup_runs' })
  id!: string;

  /** schedule or manual */
  @Column({ type: 'varchar', length: 16 })
  trigger!: string;

  /** The scheduled time the run belongs to (ISO), for scheduled runs. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  slot!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: BackupStatus;

  @InstantColumn()
  startedAt!: Date;

  @InstantColumn({ nullable: true })
  finishedAt!: Date | null;

  /** Why the run failed, one line, no secrets. */
  @Column({ type: 'varchar', length: 1000, nullable: true })
  error!: string | null;

  /** Which instance ran it. */
  @Column({ type: 'varchar', length: 64 })
  instanceId!: string;

  /** local or azure */
  @Column({ type: 'varchar', length: 16 })
  destination!: string;

  /** The object's name in the destination (`backups/…age`), set once it is complete. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  objectKey!: string | null;

  @Column({ type: 'varchar', length: 16 })
  engine!: string;

  @Column({ type: 'varchar', length: 100 })
  serverVersion!: string;

  /** The newest applied migration. */
  @Column({ type: 'varchar', length: 100 })
  schemaVersion!: string;

  /** x25519 or passphrase */
  @Column({ type: 'varchar', length: 16 })
  encryption!: string;

  /** sha256 (16 hex) of the sorted recipient list, or of "passphrase": tells which key opens it. */
  @Column({ type: 'varchar', length: 32 })
  keyFingerprint!: string;

  /** Snapshot bytes before compression and encryption. */
  @Column({ type: 'bigint', nullable: true, transformer: byteCount })
  plainBytes!: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  plainSha256!: string | null;

  /** Bytes stored (the age file). */
  @Column({ type: 'bigint', nullable: true, transformer: byteCount })
  storedBytes!: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  storedSha256!: string | null;

  /** JSON: rows per table at the snapshot. */
  @Column({ type: 'text', nullable: true })
  rowCounts!: string | null;

  @InstantColumn({ nullable: true })
  verifiedAt!: Date | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  verifyStatus!: VerifyStatus | null;

  /** restore (decrypted and restored into a scratch database) or checksum (ciphertext re-read and hashed) */
  @Column({ type: 'varchar', length: 16, nullable: true })
  verifyMode!: string | null;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  verifyError!: string | null;

  /** When retention deleted the object; the row stays as history. */
  @InstantColumn({ nullable: true })
  prunedAt!: Date | null;
}
