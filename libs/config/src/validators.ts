import { isIP } from 'node:net';
import { CronTime } from 'cron';
import { ValidateBy, ValidationOptions, buildMessage } from 'class-validator';

export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Names that Express's proxy-addr understands as address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

export function IsCidrList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCidrList',
      validator: {
        validate: (v) => Array.isArray(v) && v.every((item) => typeof item === 'string' && isCidr(item)),
        defaultMessage: buildMessage(() => 'must be a comma-separated list of IP addresses or CIDR ranges', options),
      },
    },
    options,
  );
}

/**
 * Exact hops or ranges to trust for X-Forwarded-*: a hop count alone, or
 * addresses, CIDRs and the names loopback / linklocal / uniquelocal. Never "true".
 */
export function IsTrustProxy(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTrustProxy',
      validator: {
        validate: (v: unknown) => {
          if (!Array.isArray(v) || v.length === 0) return false;
          // AsList leaves an array of strings.
          const items: unknown[] = v;
          if (items.length === 1 && typeof items[0] === 'string' && /^\d{1,2}$/.test(items[0])) return Number(items[0]) >= 1;
          return items.every((item) => typeof item === 'string' && (PROXY_RANGE_NAMES.has(item) || isCidr(item)));
        },
        defaultMessage: buildMessage(
          () =>
            'must be a hop count of at least 1 (unset it to trust none) or a list of addresses / CIDR ranges / loopback, linklocal, uniquelocal; "trust everything" is not allowed',
          options,
        ),
      },
    },
    options,
  );
}

export function IsCron(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCron',
      validator: {
        validate: (v) => {
          if (typeof v !== 'string' || v.trim().split(/\s+/).length !== 5) return false;
          try {
            new CronTime(v, 'UTC');
            return true;
          } catch {
            return false;
          }
        },
        defaultMessage: buildMessage(() => 'must be a five-field cron expression such as "0 2 * * *"', options),
      },
    },
    options,
  );
}
