import { KirokuConfig, NAMESPACES } from './schema';
import { settingsOf } from './setting.decorator';

export const REDACTED = '[redacted]';

/** A URL with its password masked; anything unparsable is masked whole. */
function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = REDACTED;
    // Webhook URLs carry their secret in the path and query; database URLs may in the query (password=, sslpassword=).
    if (url.protocol.startsWith('http')) return `${url.protocol}//${url.host}/${REDACTED}`;
    if (url.search) url.search = `?${REDACTED}`;
    return url.toString();
  } catch {
    return REDACTED;
  }
}

function redactValue(value: SettingValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactUrl(value);
  return REDACTED;
}

/** What a setting holds once loaded: the namespace classes' property types. */
export type SettingValue = string | number | boolean | string[] | undefined;

export interface PrintedSetting {
  name: string;
  value: SettingValue;
  secret: boolean;
  description: string;
}

/** Every setting with its effective value, secrets redacted: safe to print or log. */
export function describeConfig(config: KirokuConfig): PrintedSetting[] {
  return (Object.keys(NAMESPACES) as Array<keyof typeof NAMESPACES>).flatMap((ns) =>
    settingsOf(NAMESPACES[ns]).map((def) => {
      const value = (config[ns] as unknown as Record<string, SettingValue>)[def.property];
      return { name: def.name, value: def.secret ? redactValue(value) : value, secret: !!def.secret, description: def.description };
    }),
  );
}

/** A secret value and the secret parts inside it (a URL's password and query values). */
function secretParts(value: string): string[] {
  const parts = [value];
  try {
    const url = new URL(value);
    if (url.password) parts.push(decodeURIComponent(url.password));
    for (const v of url.searchParams.values()) parts.push(v);
  } catch {
    // not a URL
  }
  return parts;
}

/** The raw secret values in force, so that log output can be scrubbed of them. */
export function secretValues(config: KirokuConfig): string[] {
  return (Object.keys(NAMESPACES) as Array<keyof typeof NAMESPACES>).flatMap((ns) =>
    settingsOf(NAMESPACES[ns])
      .filter((def) => def.secret)
      .map((def) => (config[ns] as unknown as Record<string, unknown>)[def.property])
      .filter((v): v is string => typeof v === 'string')
      .flatMap(secretParts)
      .filter((v) => v.length >= 6),
  );
}
