import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { ConfigError, SettingProblem } from './errors';
import { ENVIRONMENTS, KirokuConfig, NAMESPACES } from './schema';
import { SettingDefinition, settingsOf } from './setting.decorator';
import { useGeneratedBackupKey } from './generated-key';

export interface LoadConfigOptions {
  /** The process environment; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory holding default.yaml and <environment>.yaml. */
  configDir?: string;
}

interface RawValue {
  value: unknown;
  source: string;
}

/** Every setting the schema knows, in documentation order. */
export function allSettings(): Array<SettingDefinition & { namespace: keyof typeof NAMESPACES }> {
  return (Object.keys(NAMESPACES) as Array<keyof typeof NAMESPACES>).flatMap((namespace) =>
    settingsOf(NAMESPACES[namespace]).map((s) => ({ ...s, namespace })),
  );
}

/** The folder with default.yaml: CONFIG_DIR, else the nearest `config/` above this file (source or dist). */
export function findConfigDir(env: Record<string, string | undefined> = process.env): string {
  if (env.CONFIG_DIR) return resolve(env.CONFIG_DIR);
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'config');
    if (existsSync(join(candidate, 'default.yaml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError([{ setting: 'CONFIG_DIR', message: 'no config/default.yaml found; set CONFIG_DIR to the folder that holds it' }]);
    dir = parent;
  }
}

function readYaml(file: string, known: Set<string>, problems: SettingProblem[]): Record<string, unknown> {
  if (!existsSync(file)) return {};
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push({ setting: 'CONFIG_DIR', message: `${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}` });
    return {};
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push({ setting: 'CONFIG_DIR', message: `${file} must be a mapping of SETTING: value` });
    return {};
  }
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) problems.push({ setting: key, message: 'is not a known setting (check the spelling)', source: file });
  }
  return doc as Record<string, unknown>;
}

/**
 * Reads config/default.yaml, then config/<NODE_ENV>.yaml, then the environment
 * (non-empty variables win), validates every namespace and throws one
 * ConfigError naming every invalid setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): KirokuConfig {
  const env = options.env ?? process.env;
  const settings = allSettings();
  const known = new Set(settings.map((s) => s.name));
  const problems: SettingProblem[] = [];
  const environment = env.NODE_ENV || 'development';
  if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw new ConfigError([{ setting: 'NODE_ENV', message: `must be one of ${ENVIRONMENTS.join(', ')}`, source: 'environment' }]);
  }
  const configDir = options.configDir ?? findConfigDir(env);

  const raw = new Map<string, RawValue>();
  for (const file of [join(configDir, 'default.yaml'), join(configDir, `${environment}.yaml`)]) {
    for (const [key, value] of Object.entries(readYaml(file, known, problems))) {
      if (known.has(key) && value !== null) raw.set(key, { value, source: file });
    }
  }
  for (const name of known) {
    const value = env[name];
    if (value !== undefined && value !== '') raw.set(name, { value, source: 'environment' });
  }
  raw.set('NODE_ENV', { value: environment, source: raw.get('NODE_ENV')?.source ?? 'default' });

  const config: Record<string, object> = {};
  for (const [namespace, ctor] of Object.entries(NAMESPACES)) {
    const defs = settingsOf(ctor);
    const plain = Object.fromEntries(defs.map((d) => [d.property, raw.get(d.name)?.value]));
    const instance = plainToInstance(ctor as new () => object, plain);
    const errors = validateSync(instance, { forbidUnknownValues: false });
    problems.push(...errors.map((e) => toProblem(e, defs, raw)));
    config[namespace] = instance;
  }
  if (problems.length === 0) problems.push(...crossChecks(config as unknown as KirokuConfig));
  if (problems.length > 0) throw new ConfigError(problems);
  useGeneratedBackupKey(config as unknown as KirokuConfig);
  return config as unknown as KirokuConfig;
}

/** Rules that involve two settings; run once each setting is valid on its own. */
function crossChecks({ app, security, alert }: KirokuConfig): SettingProblem[] {
  const problems: SettingProblem[] = [];
  if (app.instanceStaleAfterMs < 2 * app.heartbeatIntervalMs) {
    problems.push({
      setting: 'INSTANCE_STALE_AFTER',
      message: 'must be at least twice HEARTBEAT_INTERVAL, or live instances would look gone between heartbeats',
    });
  }
  if (alert.diskWarn >= alert.diskCrit) {
    problems.push({ setting: 'ALERT_DISK_WARN', message: 'must be below ALERT_DISK_CRIT' });
  }
  if (alert.emailTo?.length && !alert.smtpUrl) {
    problems.push({ setting: 'SMTP_URL', message: 'is required when ALERT_EMAIL_TO is set: alert e-mails need a mail server' });
  }
  if (!!security.tlsCertFile !== !!security.tlsKeyFile) {
    problems.push({ setting: security.tlsCertFile ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', message: 'must be set together with the other TLS_* file' });
  }
  return problems;
}

function toProblem(error: ValidationError, defs: SettingDefinition[], raw: Map<string, RawValue>): SettingProblem {
  const def = defs.find((d) => d.property === error.property)!;
  const given = raw.get(def.name);
  // A value of the wrong kind fails every constraint; say what kind it must be, not that it is too big.
  const constraints = error.constraints ?? {};
  const first = ['isInt', 'isNumber', 'isBoolean', 'isString', 'isIn'].find((name) => name in constraints);
  const messages = first ? [constraints[first]] : Object.values(constraints);
  // One message is enough; several constraints usually say the same thing.
  const message = given === undefined ? `is required: ${messages[0] ?? 'missing'}` : (messages[0] ?? 'is invalid');
  const shown = given !== undefined && !def.secret ? ` (got ${JSON.stringify(String(given.value))})` : '';
  return { setting: def.name, message: `${message}${shown}`, source: given?.source };
}
