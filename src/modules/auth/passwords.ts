import { Algorithm, hash, verify } from '@node-rs/argon2';
import type * as ZxcvbnCommon from '@zxcvbn-ts/language-common';
import { textProblem } from '../web';

/** OWASP's argon2id minimum (m=19 MiB, t=2, p=1), passed explicitly. */
export const ARGON2_PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

let common: Set<string> | undefined;

/** The list, loaded on the first password check: ~10 MiB that a process which never sees a password does not pay for. */
function commonPasswords(): Set<string> {
  if (!common) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on the first password check, see above
    const { dictionary } = require('@zxcvbn-ts/language-common') as typeof ZxcvbnCommon;
    common = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  }
  return common;
}

export type PasswordProblem = 'password.tooShort' | 'password.tooLong' | 'password.common' | 'form.invalidCharacters';

/**
 * 8..128 characters, no composition rules, not among the ~49,000 most common passwords; no control characters
 * or unpaired surrogates (the text rule: a surrogate would be hashed as U+FFFD, so two passwords would be one).
 */
export function passwordProblem(password: string): PasswordProblem | null {
  if (textProblem(password, { max: Infinity })?.kind === 'characters') return 'form.invalidCharacters';
  const length = [...password].length;
  if (length < 8) return 'password.tooShort';
  if (length > 128) return 'password.tooLong';
  if (commonPasswords().has(password.toLowerCase())) return 'password.common';
  return null;
}

/**
 * Verified against when the email is unknown, so both answers take the same time: a hash of a throwaway password
 * with ARGON2_PARAMS (a unit test holds them equal). Written out rather than hashed at every start-up, which cost
 * an argon2 run (~20 ms of a core, 19 MiB) in every process, the CLI's included.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$45ysDTZ54gGQy5HLXIftdQ$twy4cRip8Gze50alYXUWAHwAO/E6CKXzfMz8sPbLFis';

export class PasswordHasher {
  hash(password: string): Promise<string> {
    return hash(password, ARGON2_PARAMS);
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }

  /** Burns the same time as a real verification. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(DUMMY_HASH, password);
    return false;
  }

  /** True when the stored hash is weaker than (or different from) today's parameters. */
  needsRehash(stored: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    if (!match) return true;
    const [m, t, p] = match.slice(1).map(Number);
    return m !== ARGON2_PARAMS.memoryCost || t !== ARGON2_PARAMS.timeCost || p !== ARGON2_PARAMS.parallelism;
  }
}
