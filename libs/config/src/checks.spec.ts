import { blockingFindings, checkDeployment } from './checks';
import { loadConfig } from './loader';

const STRONG = 'q3J9v-Zk2L8xW0pT7mR4nY6bC1dF5hG_';
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

/** A production configuration with no findings at all. */
const clean = {
  NODE_ENV: 'production',
  SESSION_SECRET: STRONG,
  PUBLIC_URL: 'https://notes.example.com',
  TRUST_PROXY: '10.0.0.0/8',
  DATABASE_URL: 'postgres://kiroku@db/kiroku?sslmode=verify-full',
  TOPOLOGY: 'cluster',
  BACKUP_AGE_RECIPIENTS: RECIPIENT,
  // The instances only encrypt: the maintenance job holds the identity and the right to delete.
  BACKUP_MAINTENANCE: 'separate',
  METRICS_TOKEN: 'metrics-token-0123456789abcdef',
  ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
  BACKUP_AZURE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=kiroku;AccountKey=a2V5;EndpointSuffix=core.windows.net',
};

const ids = (env: Record<string, string | undefined>) => checkDeployment(loadConfig({ env: { ...clean, ...env } })).map((f) => `${f.level}:${f.id}`);

describe('checkDeployment', () => {
  it('finds nothing in a well-configured production cluster', () => {
    expect(ids({})).toEqual([]);
  });

  it.each([
    [{ SESSION_SECRET: 'development-only-insecure-session-secret' }, 'error:session-secret-insecure'],
    [{ SESSION_SECRET: 'Zk2L8xW0pT7' }, 'error:session-secret-insecure'],
    [{ SESSION_SECRET: 'a'.repeat(40) }, 'error:session-secret-insecure'],
    [{ DATABASE_URL: undefined }, 'error:sqlite-in-cluster'],
    [{ BACKUP_AGE_RECIPIENTS: undefined }, 'error:backup-encryption-missing'],
    [{ PUBLIC_URL: 'http://notes.example.com' }, 'error:public-url-plain-http'],
    [{ TRUST_PROXY: undefined }, 'error:https-not-terminated'],
    [{ FORCE_HTTPS: 'false' }, 'warning:force-https-off'],
    [{ DATABASE_URL: 'postgres://kiroku@db/kiroku' }, 'warning:database-tls-off'],
    [{ BACKUP_MAINTENANCE: 'inline', TOPOLOGY: 'single' }, 'warning:backup-verify-impossible'],
    [{ BACKUP_MAINTENANCE: 'inline', BACKUP_AGE_IDENTITY_FILE: '/run/secrets/backup-identity' }, 'warning:backup-maintenance-inline-in-cluster'],
    [{ BACKUP_AGE_IDENTITY_FILE: '/run/secrets/backup-identity' }, 'warning:backup-identity-on-instances'],
    [{ METRICS_TOKEN: undefined }, 'warning:metrics-closed'],
    [{ ALERT_WEBHOOK_URL: undefined }, 'error:alerts-no-channel'],
    [{ BACKUP_AZURE_CONNECTION_STRING: undefined }, 'error:backups-local-in-cluster'],
    [{ LOG_LEVEL: 'debug' }, 'warning:log-level-verbose'],
    [{ TRUST_PROXY: '1' }, 'warning:trust-proxy-hop-count'],
  ])('with %j reports %s', (env, finding) => {
    expect(ids(env)).toEqual([finding]);
  });

  it('takes any one alert channel: a webhook, e-mail, or only a heartbeat to a push monitor', () => {
    expect(ids({ ALERT_WEBHOOK_URL: undefined, ALERT_HEARTBEAT_URL: 'https://status.example.com/api/push/abc' })).toEqual([]);
    expect(ids({ ALERT_WEBHOOK_URL: undefined, ALERT_EMAIL_TO: 'ops@example.com', SMTP_URL: 'smtp://mail.example.com:587' })).toEqual([]);
  });

  it('lets one machine keep its backups in a local folder', () => {
    expect(ids({ TOPOLOGY: 'single', BACKUP_AZURE_CONNECTION_STRING: undefined })).toEqual([]);
  });

  it('accepts a passphrase instead of recipients', () => {
    expect(ids({ BACKUP_AGE_RECIPIENTS: undefined, BACKUP_AGE_PASSPHRASE: 'correct horse battery staple' })).toEqual([]);
  });

  it('accepts direct TLS instead of a proxy', () => {
    expect(ids({ TRUST_PROXY: undefined, TLS_CERT_FILE: '/etc/kiroku/cert.pem', TLS_KEY_FILE: '/etc/kiroku/key.pem' })).toEqual([]);
  });
});

describe('blockingFindings', () => {
  it('blocks production on error-level findings only', () => {
    const config = loadConfig({ env: { ...clean, BACKUP_AGE_RECIPIENTS: undefined, LOG_LEVEL: 'debug' } });
    expect(blockingFindings(config).map((f) => f.id)).toEqual(['backup-encryption-missing']);
  });

  it('never blocks development, whatever the findings', () => {
    const config = loadConfig({ env: { NODE_ENV: 'development' } });
    expect(checkDeployment(config).some((f) => f.level === 'error')).toBe(true);
    expect(blockingFindings(config)).toEqual([]);
  });
});
