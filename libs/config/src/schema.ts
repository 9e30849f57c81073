import { IsBoolean, IsEmail, IsIn, IsInt, IsNumber, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';
import { AsBoolean, AsConcurrency, AsDuration, AsInteger, AsList, AsNumber, AsString } from './parsers';
import { Setting } from './setting.decorator';
import { IsCidrList, IsCron, IsTrustProxy } from './validators';

export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const DURATION = { message: 'must be a duration such as 500ms, 30s, 5m, 2h or 1d' };
/** Timers cannot wait longer than 2^31-1 ms (Node clamps them to 1 ms): keep timer settings well below. */
const AT_MOST_1H = { message: 'must be at most 1h' };
const HOUR = 3_600_000;
const FRACTION = { message: 'must be a fraction between 0 and 1, such as 0.05' };
const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

export class AppConfig {
  @Setting('NODE_ENV', { description: 'development, test, staging or production' })
  @IsIn(ENVIRONMENTS, { message: `must be one of ${ENVIRONMENTS.join(', ')}` })
  env!: Environment;

  @Setting('PORT', { description: 'TCP port the HTTP server listens on' })
  @AsInteger()
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  port!: number;

  @Setting('HOST', { description: 'address the HTTP server binds to' })
  @AsString()
  @IsString()
  @MinLength(1)
  host!: string;

  @Setting('PUBLIC_URL', { description: 'the address people use to reach Kiroku; absolute links and the CSRF origin check use it, never the Host header' })
  @AsString()
  @IsUrl(URL_OPTS, { message: 'must be an absolute http(s) URL such as https://notes.example.com' })
  publicUrl!: string;

  @Setting('TOPOLOGY', { description: 'single (one machine per database) or cluster (several replicas on PostgreSQL)' })
  @IsIn(['single', 'cluster'], { message: 'must be single or cluster' })
  topology!: 'single' | 'cluster';

  @Setting('WEB_CONCURRENCY', {
    description: 'HTTP worker processes: auto (one per CPU this process may use, at most 8) or a number; 1 runs one process with no primary',
  })
  @AsConcurrency()
  @IsInt({ message: 'must be auto or an integer between 1 and 64' })
  @Min(1, { message: 'must be auto or an integer between 1 and 64' })
  @Max(64, { message: 'must be auto or an integer between 1 and 64' })
  webConcurrency!: number;

  @Setting('SHUTDOWN_GRACE_PERIOD', { description: 'on SIGTERM, how long in-flight requests may take to finish' })
  @AsDuration()
  @IsInt(DURATION)
  @Max(HOUR, AT_MOST_1H)
  shutdownGraceMs!: number;

  @Setting('HEARTBEAT_INTERVAL', { description: 'how often each instance records that it is alive' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(100, DURATION)
  @Max(HOUR, AT_MOST_1H)
  heartbeatIntervalMs!: number;

  @Setting('INSTANCE_STALE_AFTER', { description: 'an instance whose last heartbeat is older than this counts as gone' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(1000, DURATION)
  @Max(24 * HOUR, { message: 'must be at most 1d' })
  instanceStaleAfterMs!: number;

  @Setting('NOTE_REVISIONS_KEEP', { description: 'earlier versions kept per note for its history; older ones are deleted by the daily records task' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  noteRevisionsKeep!: number;
}

export class DatabaseConfig {
  @Setting('DATABASE_URL', { secret: true, description: 'a postgres:// URL selects PostgreSQL; unset means SQLite at DATABASE_PATH' })
  @IsOptional()
  @AsString()
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, { message: 'must be a postgres:// or postgresql:// URL (only PostgreSQL is supported besides the embedded SQLite)' })
  url?: string;

  @Setting('DATABASE_PATH', { description: 'SQLite database file (directory created if missing)' })
  @AsString()
  @IsString()
  @MinLength(1, { message: 'must be a file path' })
  path!: string;

  @Setting('DATABASE_POOL_SIZE', { description: 'PostgreSQL connections per instance' })
  @AsInteger()
  @IsInt({ message: 'must be an integer between 1 and 100' })
  @Min(1, { message: 'must be an integer between 1 and 100' })
  @Max(100, { message: 'must be an integer between 1 and 100' })
  poolSize!: number;

  @Setting('DATABASE_STATEMENT_TIMEOUT', { description: 'PostgreSQL statement_timeout for every connection' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(100, DURATION)
  @Max(24 * HOUR, { message: 'must be at most 1d' })
  statementTimeoutMs!: number;

  @Setting('DATABASE_BUSY_TIMEOUT', { description: 'SQLite busy_timeout: how long a writer waits for a lock' })
  @AsDuration()
  @IsInt(DURATION)
  @Max(60_000, { message: 'must be at most 1m' })
  busyTimeoutMs!: number;

  @Setting('DATABASE_PING_TIMEOUT', { description: 'readiness gives up on the database after this long' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(50, DURATION)
  @Max(60_000, { message: 'must be at most 1m' })
  pingTimeoutMs!: number;

  @Setting('MIGRATIONS', { description: 'auto: apply pending migrations at start-up (under a lock); off: never, stay not-ready until `kiroku migrate run`' })
  @IsIn(['auto', 'off'], { message: 'must be auto or off' })
  migrations!: 'auto' | 'off';

  get engine(): 'postgres' | 'sqlite' {
    return this.url ? 'postgres' : 'sqlite';
  }
}

export class SecurityConfig {
  @Setting('SESSION_SECRET', { secret: true, description: 'server secret for session and CSRF material; at least 32 random characters in production' })
  @AsString()
  @IsString()
  @MinLength(1, { message: 'must not be empty' })
  sessionSecret!: string;

  @Setting('TRUST_PROXY', { description: 'proxies whose X-Forwarded-* headers are believed: hop count or addresses/CIDRs; unset trusts none' })
  @IsOptional()
  @AsList()
  @IsTrustProxy()
  trustProxy?: string[];

  @Setting('FORCE_HTTPS', { description: 'redirect plain-HTTP browser requests to PUBLIC_URL over HTTPS' })
  @AsBoolean()
  @IsBoolean({ message: 'must be true or false' })
  forceHttps!: boolean;

  @Setting('TLS_CERT_FILE', { description: 'serve HTTPS directly with this PEM certificate chain (machines without a proxy)' })
  @IsOptional()
  @AsString()
  @IsString()
  tlsCertFile?: string;

  @Setting('TLS_KEY_FILE', { description: 'private key for TLS_CERT_FILE' })
  @IsOptional()
  @AsString()
  @IsString()
  tlsKeyFile?: string;

  @Setting('SESSION_IDLE_TIMEOUT', { description: 'a session unused for this long ends' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(60_000, { message: 'must be at least 1m' })
  sessionIdleMs!: number;

  @Setting('SESSION_ABSOLUTE_LIFETIME', { description: 'a session ends this long after sign-in, however active' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(60_000, { message: 'must be at least 1m' })
  sessionLifetimeMs!: number;

  @Setting('API_CORS_ORIGINS', { description: 'origins (https://app.example.com) allowed to call /api/v1 from a browser; unset allows none' })
  @IsOptional()
  @AsList()
  @Matches(/^https?:\/\/[^/\s]+$/, { each: true, message: 'must be a comma-separated list of origins such as https://app.example.com (no path, never *)' })
  apiCorsOrigins?: string[];

  @Setting('REGISTRATION', { description: 'open: anyone may sign up; closed: only operators create accounts and admins invite' })
  @IsIn(['open', 'closed'], { message: 'must be open or closed' })
  registration!: 'open' | 'closed';

  @Setting('INVITE_TTL', { description: 'an invitation link an admin creates works this long, once' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(60_000, { message: 'must be at least 1m' })
  @Max(90 * 24 * HOUR, { message: 'must be at most 90d' })
  inviteTtlMs!: number;
}

export class BackupConfig {
  @Setting('BACKUP_DIR', { description: 'local backup destination directory' })
  @AsString()
  @IsString()
  @MinLength(1)
  dir!: string;

  @Setting('BACKUP_SCHEDULE', { description: 'cron expression (UTC) for the daily full backup' })
  @AsString()
  @IsCron()
  schedule!: string;

  @Setting('BACKUP_MAINTENANCE', {
    description:
      'inline: each run is verified and old backups pruned right after it; separate: instances only store (and checksum) backups, the restore drill and pruning are `kiroku backup verify --latest` and `kiroku backup prune` in a job that alone holds the identity and the delete right',
  })
  @IsIn(['inline', 'separate'], { message: 'must be inline or separate' })
  maintenance!: 'inline' | 'separate';

  @Setting('BACKUP_RETENTION_DAYS', { description: 'backups older than this are pruned (the newest verified one is always kept)' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number of days, at least 1' })
  @Min(1, { message: 'must be a whole number of days, at least 1' })
  retentionDays!: number;

  @Setting('BACKUP_AGE_RECIPIENTS', { description: 'age X25519 public keys (age1…) backups are encrypted to, comma separated' })
  @IsOptional()
  @AsList()
  @Matches(/^age1[0-9a-z]{58}$/, { each: true, message: 'must be a comma-separated list of age X25519 recipients (age1…)' })
  ageRecipients?: string[];

  @Setting('BACKUP_AGE_PASSPHRASE', { secret: true, description: 'passphrase mode for small setups, instead of recipients' })
  @IsOptional()
  @AsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  agePassphrase?: string;

  @Setting('BACKUP_AGE_IDENTITY_FILE', { description: 'age identity file used to verify (test-restore) and restore backups' })
  @IsOptional()
  @AsString()
  @IsString()
  ageIdentityFile?: string;

  /** Not a setting: the key file Kiroku generated for itself in development (see generated-key.ts), when in use. */
  generatedIdentityFile?: string;

  @Setting('BACKUP_AZURE_CONNECTION_STRING', { secret: true, description: 'Azure Blob Storage connection string; set to store backups in Azure' })
  @IsOptional()
  @AsString()
  @IsString()
  azureConnectionString?: string;

  @Setting('BACKUP_AZURE_CONTAINER', { description: 'Azure Blob Storage container for backups and log archives' })
  @AsString()
  @Matches(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, { message: 'must be a valid Azure container name (3-63 lower-case letters, digits and dashes)' })
  azureContainer!: string;
}

export class LogConfig {
  @Setting('LOG_LEVEL', { description: 'fatal, error, warn, info, debug or trace' })
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { message: 'must be one of fatal, error, warn, info, debug, trace' })
  level!: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

  @Setting('LOG_FORMAT', { description: 'json (one object per line) or pretty (for a terminal)' })
  @IsIn(['json', 'pretty'], { message: 'must be json or pretty' })
  format!: 'json' | 'pretty';

  @Setting('LOG_DIR', { description: 'also write daily log files here (VMs); unset means stdout only (containers)' })
  @IsOptional()
  @AsString()
  @IsString()
  dir?: string;

  @Setting('LOG_RETENTION_DAYS', { description: 'log files and archives older than this are deleted' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number of days, at least 1' })
  @Min(1, { message: 'must be a whole number of days, at least 1' })
  retentionDays!: number;

  @Setting('AUDIT_RETENTION_DAYS', { description: 'audit-trail events older than this are deleted from the database' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number of days, at least 1' })
  @Min(1, { message: 'must be a whole number of days, at least 1' })
  auditRetentionDays!: number;
}

export class MetricsConfig {
  @Setting('METRICS_ENABLED', {
    description: 'false stops request counting, history sampling and /metrics (404); the error-rate, disk and log alerts then have nothing to read',
  })
  @AsBoolean()
  @IsBoolean({ message: 'must be true or false' })
  enabled!: boolean;

  @Setting('METRICS_TOKEN', { secret: true, description: 'bearer token for /metrics and detailed health' })
  @IsOptional()
  @AsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  token?: string;

  @Setting('METRICS_ALLOW', { description: 'addresses / CIDRs allowed to read /metrics without the token' })
  @IsOptional()
  @AsList()
  @IsCidrList()
  allow?: string[];

  @Setting('METRICS_SAMPLE_INTERVAL', { description: 'how often each instance records its figures for the console charts and the alerts' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(1000, { message: 'must be at least 1s' })
  @Max(HOUR, AT_MOST_1H)
  sampleIntervalMs!: number;

  @Setting('METRICS_HISTORY_DAYS', { description: 'recorded figures older than this are deleted (the console charts go back a week)' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number of days, at least 1' })
  @Min(1, { message: 'must be a whole number of days, at least 1' })
  historyDays!: number;
}

export class AlertConfig {
  @Setting('ALERT_WEBHOOK_URL', { secret: true, description: 'webhook (Slack / Teams compatible JSON) for alert notifications' })
  @IsOptional()
  @AsString()
  @IsUrl(URL_OPTS, { message: 'must be an absolute http(s) URL' })
  webhookUrl?: string;

  @Setting('ALERT_HEARTBEAT_URL', {
    secret: true,
    description: "dead man's switch: pinged (GET) after every successful evaluation of the alert rules; a push monitor alerts when the pings stop",
  })
  @IsOptional()
  @AsString()
  @IsUrl(URL_OPTS, { message: 'must be an absolute http(s) URL' })
  heartbeatUrl?: string;

  @Setting('ALERT_ERROR_RATE', { description: 'share of 5xx responses that fires the error-rate alert' })
  @AsNumber()
  @IsNumber({}, FRACTION)
  @Min(0, FRACTION)
  @Max(1, FRACTION)
  errorRate!: number;

  @Setting('ALERT_DISK_WARN', { description: 'disk usage share that raises the disk warning' })
  @AsNumber()
  @IsNumber({}, FRACTION)
  @Min(0, FRACTION)
  @Max(1, FRACTION)
  diskWarn!: number;

  @Setting('ALERT_DISK_CRIT', { description: 'disk usage share that is critical: readiness fails above it' })
  @AsNumber()
  @IsNumber({}, FRACTION)
  @Min(0, FRACTION)
  @Max(1, FRACTION)
  diskCrit!: number;

  @Setting('ALERT_ERROR_WINDOW', { description: 'the error rate is the share of 5xx responses over this window, across all instances' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(1000, DURATION)
  @Max(24 * HOUR, { message: 'must be at most 1d' })
  errorWindowMs!: number;

  @Setting('ALERT_ERROR_MIN_REQUESTS', {
    description: 'fewer requests than this in the window never fire the error-rate alert (two errors at night do not page)',
  })
  @AsInteger()
  @IsInt({ message: 'must be a whole number, at least 1' })
  @Min(1, { message: 'must be a whole number, at least 1' })
  errorMinRequests!: number;

  @Setting('ALERT_BACKUP_MAX_AGE', { description: 'the backup alert fires when the newest successful backup is older than this' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(60_000, { message: 'must be at least 1m' })
  backupMaxAgeMs!: number;

  @Setting('ALERT_EVAL_INTERVAL', { description: 'how often the alert rules are evaluated (by one instance per tick)' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(100, DURATION)
  @Max(HOUR, AT_MOST_1H)
  evalIntervalMs!: number;

  @Setting('ALERT_PENDING', { description: 'a condition must hold this long before its alert fires' })
  @AsDuration()
  @IsInt(DURATION)
  @Max(24 * HOUR, { message: 'must be at most 1d' })
  pendingMs!: number;

  @Setting('ALERT_RECOVERY', { description: 'a firing alert resolves once its condition has been clear this long' })
  @AsDuration()
  @IsInt(DURATION)
  @Max(24 * HOUR, { message: 'must be at most 1d' })
  recoveryMs!: number;

  @Setting('ALERT_REMINDER_INTERVAL', { description: 'while an alert stays firing, remind this often' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(1000, DURATION)
  @Max(7 * 24 * HOUR, { message: 'must be at most 7d' })
  reminderMs!: number;

  @Setting('ALERT_NOTIFY_BACKOFF', { description: 'first wait before a failed notification is retried; doubles with each attempt' })
  @AsDuration()
  @IsInt(DURATION)
  @Min(10, DURATION)
  @Max(HOUR, AT_MOST_1H)
  notifyBackoffMs!: number;

  @Setting('ALERT_NOTIFY_ATTEMPTS', { description: 'a notification that failed this many times is given up and shown as failed' })
  @AsInteger()
  @IsInt({ message: 'must be a whole number between 1 and 20' })
  @Min(1, { message: 'must be a whole number between 1 and 20' })
  @Max(20, { message: 'must be a whole number between 1 and 20' })
  notifyAttempts!: number;

  @Setting('ALERT_EMAIL_TO', { description: 'addresses that receive alert e-mails, comma separated (needs SMTP_URL)' })
  @IsOptional()
  @AsList()
  @IsEmail({}, { each: true, message: 'must be a comma-separated list of e-mail addresses' })
  emailTo?: string[];

  @Setting('ALERT_EMAIL_FROM', { description: 'sender address of alert e-mails and of e-mailed invitations and password links' })
  @AsString()
  @IsEmail({ require_tld: false }, { message: 'must be an e-mail address' })
  emailFrom!: string;

  @Setting('SMTP_URL', {
    secret: true,
    description:
      'mail server for alert e-mails and e-mailed invitations and password links: smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465',
  })
  @IsOptional()
  @AsString()
  @Matches(/^smtps?:\/\/[^\s]+$/, { message: 'must be an smtp:// or smtps:// URL' })
  smtpUrl?: string;
}

/** Every namespace, in the order they are documented and printed. */
export const NAMESPACES = {
  app: AppConfig,
  database: DatabaseConfig,
  security: SecurityConfig,
  backup: BackupConfig,
  log: LogConfig,
  metrics: MetricsConfig,
  alert: AlertConfig,
} as const;

export type Namespaces = typeof NAMESPACES;
export type KirokuConfig = { readonly [K in keyof Namespaces]: InstanceType<Namespaces[K]> };
