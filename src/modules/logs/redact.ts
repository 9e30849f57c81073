/** Keys whose values are never written, at any depth of a log line (checked as written and lower-cased). */
export const SECRET_KEYS = new Set([
  'password',
  'currentpassword',
  'newpassword',
  'passwordhash',
  'token',
  'tokenhash',
  'secret',
  'idhash',
  'sessionid',
  'cookie',
  'set-cookie',
  'authorization',
  '_csrf',
  'csrftoken',
  'passphrase',
  'agepassphrase',
  'connectionstring',
  'azureconnectionstring',
  // A failed query carries its bound values: session hashes, password hashes, CSRF tokens.
  'parameters',
]);

const CENSOR = '[redacted]';
const MAX_DEPTH = 6;

/**
 * The log line with every secret-named field replaced, copying only the
 * objects on the way to one (a line without secrets comes back as it was).
 * A walk over the keys that are there: pino's path-based redaction with
 * wildcards cost 25 times the rest of writing a line.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    let copy: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const r = redactSecrets(items[i], depth + 1);
      if (r !== items[i]) (copy ??= items.slice())[i] = r;
    }
    return (copy ?? value) as T;
  }
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  let copy: Record<string, unknown> | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const v = source[key];
    const r = SECRET_KEYS.has(key) || SECRET_KEYS.has(key.toLowerCase()) ? CENSOR : redactSecrets(v, depth + 1);
    if (r !== v) (copy ??= shallowCopy(source))[key] = r;
  }
  return (copy ?? value) as T;
}

/** A copy that is still an Error (with its message and stack) when the original is one. */
function shallowCopy(source: Record<string, unknown>): Record<string, unknown> {
  if (!(source instanceof Error)) return { ...source };
  const copy = Object.create(Object.getPrototypeOf(source) as object | null) as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(source)) copy[key] = source[key];
  return copy;
}
