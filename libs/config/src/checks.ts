import { KirokuConfig } from './schema';

export type FindingLevel = 'error' | 'warning';

export interface Finding {
  /** Stable identifier: scripts and docs refer to it; never renamed. */
  id: string;
  level: FindingLevel;
  /** The setting to change. */
  setting: string;
  message: string;
}

/** Values shipped in config/development.yaml and config/test.yaml: fine on a laptop, fatal in production. */
const KNOWN_DEVELOPMENT_SECRETS = /insecure|change-?me|development|secret|password|example/i;

function weakSecret(secret: string): boolean {
  return secret.length < 32 || new Set(secret).size < 10 || KNOWN_DEVELOPMENT_SECRETS.test(secret);
}

/**
 * Production-readiness findings for a configuration, in the spirit of
 * Django's `check --deploy`. Pure: the same config gives the same findings.
 */
export function checkDeployment(config: KirokuConfig): Finding[] {
  const { app, database, security, backup, metrics, alert, log } = config;
  const findings: Finding[] = [];
  const add = (id: string, level: FindingLevel, setting: string, message: string) => findings.push({ id, level, setting, message });
  const https = app.publicUrl.startsWith('https://');

  if (weakSecret(security.sessionSecret)) {
    add(
      'session-secret-insecure',
      'error',
      'SESSION_SECRET',
      'is a default, guessable or shorter than 32 characters; generate one with `openssl rand -base64 48`',
    );
  }
  if (app.topology === 'cluster' && database.engine === 'sqlite') {
    add('sqlite-in-cluster', 'error', 'DATABASE_URL', 'is unset but TOPOLOGY=cluster needs PostgreSQL: SQLite allows one machine per database file');
  }
  if (!backup.ageRecipients?.length && !backup.agePassphrase) {
    add(
      'backup-encryption-missing',
      'error',
      'BACKUP_AGE_RECIPIENTS',
      'and BACKUP_AGE_PASSPHRASE are unset: backups would be unencrypted; set an age recipient (age-keygen -y identity.txt)',
    );
  }
  if (!https) {
    add('public-url-plain-http', 'error', 'PUBLIC_URL', 'is plain http: sessions and passwords would cross the network in clear text; serve Kiroku over https');
  } else if (!security.trustProxy && !security.tlsCertFile) {
    add(
      'https-not-terminated',
      'error',
      'TRUST_PROXY',
      'is unset and so is TLS_CERT_FILE, but PUBLIC_URL is https: name the TLS proxy in front, or serve TLS directly with TLS_CERT_FILE / TLS_KEY_FILE',
    );
  }
  if (security.trustProxy?.length === 1 && /^\d+$/.test(security.trustProxy[0])) {
    add(
      'trust-proxy-hop-count',
      'warning',
      'TRUST_PROXY',
      'is a hop count: X-Forwarded-For is believed from whoever connects, so a client that reaches Kiroku around the proxy can choose its own address; name the proxy addresses instead',
    );
  }
  if (https && !security.forceHttps) {
    add('force-https-off', 'warning', 'FORCE_HTTPS', 'is off: a plain-HTTP request is served instead of redirected');
  }
  if (database.engine === 'postgres' && !/[?&]sslmode=(require|verify-ca|verify-full)\b/.test(database.url ?? '')) {
    add('database-tls-off', 'warning', 'DATABASE_URL', 'does not ask for TLS: add ?sslmode=verify-full unless the database runs on the same host');
  }
  if (backup.generatedIdentityFile) {
    add(
      'backup-key-on-this-machine',
      'warning',
      'BACKUP_AGE_RECIPIENTS',
      `is unset, so backups are encrypted to a key Kiroku generated at ${backup.generatedIdentityFile}, beside the data: copy that file off this machine (a password manager, another disk); with the disk gone, backup and key are lost together. Or set your own key (age-keygen)`,
    );
  }
  if (backup.maintenance === 'inline' && !backup.ageIdentityFile && !backup.agePassphrase) {
    add('backup-verify-impossible', 'warning', 'BACKUP_AGE_IDENTITY_FILE', 'is unset: backups cannot be test-restored automatically after each run');
  }
  if (backup.maintenance === 'inline' && app.topology === 'cluster') {
    add(
      'backup-maintenance-inline-in-cluster',
      'warning',
      'BACKUP_MAINTENANCE',
      'is inline with TOPOLOGY=cluster: every replica holds the right to delete backups (and the identity, if mounted), so one compromised pod can read and delete them all; set BACKUP_MAINTENANCE=separate and run the maintenance job (deploy/k8s/base/backup-maintenance-cronjob.yaml)',
    );
  }
  if (backup.maintenance === 'separate' && backup.ageIdentityFile) {
    add(
      'backup-identity-on-instances',
      'warning',
      'BACKUP_AGE_IDENTITY_FILE',
      'is set with BACKUP_MAINTENANCE=separate: the instances only encrypt, so only the maintenance job should hold the identity; unset it here',
    );
  }
  if (!metrics.token && !metrics.allow?.length) {
    add('metrics-closed', 'warning', 'METRICS_TOKEN', 'and METRICS_ALLOW are unset: monitors cannot scrape /metrics');
  }
  if (!alert.webhookUrl && !alert.emailTo?.length && !alert.heartbeatUrl) {
    add(
      'alerts-no-channel',
      'error',
      'ALERT_WEBHOOK_URL',
      'ALERT_EMAIL_TO and ALERT_HEARTBEAT_URL are unset: alerts would be recorded but nobody told, and an outage would pass unreported; set at least one',
    );
  }
  if (app.topology === 'cluster' && !backup.azureConnectionString) {
    add(
      'backups-local-in-cluster',
      'error',
      'BACKUP_AZURE_CONNECTION_STRING',
      'is unset but TOPOLOGY=cluster: backups would go to BACKUP_DIR, a folder of one replica (on Kubernetes often an emptyDir, gone at the next rollout); store them in Azure Blob Storage',
    );
  }
  if (log.level === 'debug' || log.level === 'trace') {
    add('log-level-verbose', 'warning', 'LOG_LEVEL', `is ${log.level}: verbose logs fill disks and may carry personal data`);
  }
  return findings;
}

/** Production refuses to start while any of these stands. */
export function blockingFindings(config: KirokuConfig): Finding[] {
  return config.app.env === 'production' ? checkDeployment(config).filter((f) => f.level === 'error') : [];
}

export function formatFinding(f: Finding): string {
  return `${f.level === 'error' ? 'ERROR' : 'WARN '} ${f.id}: ${f.setting} ${f.message}`;
}
