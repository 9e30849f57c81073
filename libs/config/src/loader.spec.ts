import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors';
import { allSettings, findConfigDir, loadConfig } from './loader';
import { describeConfig, REDACTED, secretValues } from './redaction';

const base = { NODE_ENV: 'test' };

function problemsOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env: { ...base, ...env } });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads the defaults of the spec from config/default.yaml', () => {
    const config = loadConfig({ env: base });
    expect(config.app.port).toBe(8888);
    expect(config.app.host).toBe('0.0.0.0');
    expect(config.database.path).toBe('./data/kiroku.sqlite');
    expect(config.database.engine).toBe('sqlite');
    expect(config.backup.schedule).toBe('0 2 * * *');
    expect(config.backup.retentionDays).toBe(30);
    expect(config.log.retentionDays).toBe(90);
    expect(config.alert).toMatchObject({ errorRate: 0.05, diskWarn: 0.8, diskCrit: 0.9 });
    expect(config.security.registration).toBe('open');
    expect(config.database.migrations).toBe('auto');
  });

  it('lets environment variables override the files, and parses durations and lists', () => {
    const config = loadConfig({
      env: { ...base, PORT: '9000', SHUTDOWN_GRACE_PERIOD: '2m', DATABASE_URL: 'postgres://u:p@db:5432/k', METRICS_ALLOW: '10.0.0.0/8, 127.0.0.1' },
    });
    expect(config.app.port).toBe(9000);
    expect(config.app.shutdownGraceMs).toBe(120_000);
    expect(config.database.engine).toBe('postgres');
    expect(config.metrics.allow).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ env: { ...base, PORT: '' } }).app.port).toBe(8888);
  });

  it.each([
    ['PORT', 'abc', /PORT: must be an integer between 1 and 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT: must be an integer/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['TRUST_PROXY', 'true', /TRUST_PROXY: must be a hop count/],
    ['TRUST_PROXY', '10.0.0.0/33', /TRUST_PROXY/],
    ['BACKUP_SCHEDULE', 'every night', /BACKUP_SCHEDULE: must be a five-field cron expression/],
    ['ALERT_DISK_CRIT', '1.5', /ALERT_DISK_CRIT: must be a fraction/],
    ['SHUTDOWN_GRACE_PERIOD', 'soon', /SHUTDOWN_GRACE_PERIOD: must be a duration/],
    ['MIGRATIONS', 'sometimes', /MIGRATIONS: must be auto or off/],
    ['FORCE_HTTPS', 'maybe', /FORCE_HTTPS: must be true or false/],
    ['BACKUP_AGE_RECIPIENTS', 'not-a-key', /BACKUP_AGE_RECIPIENTS: must be a comma-separated list of age/],
  ])('names %s when it is %j', (setting, value, message) => {
    const error = problemsOf({ [setting]: value });
    expect(error.problems.map((p) => p.setting)).toEqual([setting]);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/from environment/);
  });

  it('lists every invalid setting in one error', () => {
    const error = problemsOf({ PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    expect(error.problems.map((p) => p.setting).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
    expect(error.message).toMatch(/^Invalid configuration, 3 settings:/);
  });

  it('never echoes the value of a secret setting', () => {
    const error = problemsOf({ METRICS_TOKEN: 'short' });
    expect(error.message).toMatch(/METRICS_TOKEN: must be at least 16 characters/);
    expect(error.message).not.toContain('short"');
  });

  it('rejects NODE_ENV outside the four environments', () => {
    expect(problemsOf({ NODE_ENV: 'prod' }).message).toMatch(/NODE_ENV: must be one of development, test, staging, production/);
  });

  it('requires SESSION_SECRET where no file provides one', () => {
    const error = problemsOf({ NODE_ENV: 'production' });
    expect(error.problems.map((p) => p.setting)).toContain('SESSION_SECRET');
    expect(error.message).toMatch(/SESSION_SECRET: is required/);
  });

  it('refuses unknown keys in config files, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiroku-config-'));
    writeFileSync(join(dir, 'default.yaml'), 'PORT: 8888\nPROT: 1\n');
    writeFileSync(join(dir, 'test.yaml'), 'SESSION_SECRET: x\n');
    const error = (() => {
      try {
        loadConfig({ env: base, configDir: dir });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected an error');
    })();
    expect(error.problems).toContainEqual(expect.objectContaining({ setting: 'PROT', message: expect.stringMatching(/not a known setting/) }));
    expect(error.problems.find((p) => p.setting === 'PROT')!.source).toBe(join(dir, 'default.yaml'));
  });
});

describe('describeConfig', () => {
  it('redacts every secret, and the password inside DATABASE_URL', () => {
    const config = loadConfig({
      env: {
        ...base,
        DATABASE_URL: 'postgres://kiroku:hunter2hunter2@db:5432/kiroku',
        METRICS_TOKEN: 'metrics-token-0123456789',
        ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/T000/B000/XXXX',
      },
    });
    const printed = JSON.stringify(describeConfig(config));
    expect(printed).not.toContain('hunter2hunter2');
    expect(printed).not.toContain('metrics-token-0123456789');
    expect(printed).not.toContain('test-only-insecure-session-secret');
    expect(printed).not.toContain('T000/B000');
    const byName = Object.fromEntries(describeConfig(config).map((s) => [s.name, s.value]));
    expect(byName.DATABASE_URL).toBe(`postgres://kiroku:${encodeURIComponent(REDACTED)}@db:5432/kiroku`);
    expect(byName.SESSION_SECRET).toBe(REDACTED);
    expect(byName.PORT).toBe(8888);
    expect(secretValues(config)).toEqual(expect.arrayContaining(['metrics-token-0123456789']));
  });

  it('documents every setting', () => {
    for (const s of allSettings()) expect(s.description.length).toBeGreaterThan(10);
  });
});

describe('settings that only make sense together', () => {
  const fails = (env: Record<string, string>, setting: string, message: RegExp) => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ env: { NODE_ENV: 'test', ...env } });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.problems).toEqual([expect.objectContaining({ setting, message: expect.stringMatching(message) })]);
  };

  it('needs INSTANCE_STALE_AFTER of at least two heartbeats', () =>
    fails({ HEARTBEAT_INTERVAL: '30s', INSTANCE_STALE_AFTER: '45s' }, 'INSTANCE_STALE_AFTER', /twice HEARTBEAT_INTERVAL/));
  it('needs the disk warning below the critical mark', () => fails({ ALERT_DISK_WARN: '0.95' }, 'ALERT_DISK_WARN', /below ALERT_DISK_CRIT/));
  it('needs a mail server for alert e-mails', () => fails({ ALERT_EMAIL_TO: 'ops@example.com' }, 'SMTP_URL', /required when ALERT_EMAIL_TO is set/));
  it('refuses alert recipients that are not e-mail addresses', () =>
    fails({ ALERT_EMAIL_TO: 'ops@example.com, nobody', SMTP_URL: 'smtp://mail:25' }, 'ALERT_EMAIL_TO', /comma-separated list of e-mail addresses/));
  it('refuses a mail server URL of another scheme', () => fails({ SMTP_URL: 'http://mail.example.com' }, 'SMTP_URL', /smtp:\/\/ or smtps:\/\//));
  it('needs both TLS files', () => fails({ TLS_KEY_FILE: '/k.pem' }, 'TLS_CERT_FILE', /together/));
  it('bounds timer settings (Node clamps longer timers to 1 ms)', () => fails({ HEARTBEAT_INTERVAL: '30d' }, 'HEARTBEAT_INTERVAL', /at most 1h/));
  it('refuses a hop count of 0 for TRUST_PROXY', () => fails({ TRUST_PROXY: '0' }, 'TRUST_PROXY', /at least 1/));

  it('reads a numeric TRUST_PROXY from a YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiroku-config-'));
    writeFileSync(join(dir, 'default.yaml'), readFileSync(join(findConfigDir(), 'default.yaml')));
    writeFileSync(join(dir, 'test.yaml'), 'SESSION_SECRET: x\nTRUST_PROXY: 1\n');
    expect(loadConfig({ env: { NODE_ENV: 'test' }, configDir: dir }).security.trustProxy).toEqual(['1']);
  });

  it('redacts the query of a database URL, and offers its parts for scrubbing', () => {
    const config = loadConfig({ env: { NODE_ENV: 'test', DATABASE_URL: 'postgres://u:pw-123456@h/db?sslpassword=keypass-123' } });
    const printed = JSON.stringify(describeConfig(config));
    expect(printed).not.toMatch(/pw-123456|keypass-123/);
    expect(secretValues(config)).toEqual(expect.arrayContaining(['pw-123456', 'keypass-123']));
  });
});
