import { SchemaDefinition, TaskLease } from '@kiroku/persistence';
import { postgresMigrations } from '../migrations/postgres';
import { sqliteMigrations } from '../migrations/sqlite';
import { Alert, AlertNotification } from './modules/alerts';
import { AuditEvent } from './modules/audit';
import { AccountLink, ApiToken, LoginThrottle, Session, User } from './modules/auth';
import { BackupRun } from './modules/backup';
import { Instance } from './modules/cluster';
import { MetricSample } from './modules/metrics';
import { Note, NoteRevision, NoteTag, Tag } from './modules/notes';

/** Every entity and every migration, listed explicitly: nothing is picked up by a glob. */
export const SCHEMA: SchemaDefinition = {
  entities: [
    TaskLease,
    Instance,
    User,
    Session,
    ApiToken,
    LoginThrottle,
    AccountLink,
    AuditEvent,
    Note,
    Tag,
    NoteTag,
    NoteRevision,
    BackupRun,
    MetricSample,
    Alert,
    AlertNotification,
  ],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
};
