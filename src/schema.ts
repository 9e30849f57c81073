import { SchemaDefinition, TaskLease } from '@kiroku/persistence';
import { postgresMigrations } from '../migrations/postgres';
import { sqliteMigrations } from '../migrations/sqlite';
import { AlertNotification } from './modules/alerts/alert-notification.entity';
import { Alert } from './modules/alerts/alert.entity';
import { AuditEvent } from './modules/audit/audit-event.entity';
import { ApiToken } from './modules/auth/api-token.entity';
import { LoginThrottle } from './modules/auth/login-throttle.entity';
import { Session } from './modules/auth/session.entity';
import { User } from './modules/auth/user.entity';
import { BackupRun } from './modules/backup/backup-run.entity';
import { Instance } from './modules/cluster/instance.entity';
import { MetricSample } from './modules/metrics/metric-sample.entity';
import { NoteTag } from './modules/notes/note-tag.entity';
import { Note } from './modules/notes/note.entity';
import { Tag } from './modules/notes/tag.entity';

/** Every entity and every migration, listed explicitly: nothing is picked up by a glob. */
export const SCHEMA: SchemaDefinition = {
  entities: [TaskLease, Instance, User, Session, ApiToken, LoginThrottle, AuditEvent, Note, Tag, NoteTag, BackupRun, MetricSample, Alert, AlertNotification],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
};
