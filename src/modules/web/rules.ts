import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/** Length in characters (code points), as a person counts them, not UTF-16 units. */
export function CharLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'charLength',
      constraints: [min, max],
      validator: {
        validate: (v) => typeof v === 'string' && [...v].length >= min && [...v].length <= max,
        defaultMessage: buildMessage(() => (min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`), options),
      },
    },
    options,
  );
}

/**
 * What a text field may hold. Every text a person or a script sends (forms, API bodies, query strings, imported
 * files, CLI arguments) is checked by this one rule: PostgreSQL refuses NUL outright (a 500 before this rule) and
 * stores a lone surrogate as U+FFFD, SQLite stores both, and other control characters are invisible in a page and
 * break logs, exports and terminals.
 */
export interface TextRule {
  /** Inclusive bounds, in code points (an emoji is one); 0 unless given. */
  min?: number;
  max: number;
  /** Multi-line text (a note's body): tabs, line feeds and carriage returns are allowed. */
  multiline?: boolean;
}

/* eslint-disable no-control-regex -- these patterns exist to find control characters */
/** C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators (a line break in a one-line field). */
const SINGLE_LINE_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** The same, less the tab, line feed and carriage return of multi-line text (the separators are text there). */
const MULTI_LINE_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const ALL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/* eslint-enable no-control-regex */
/** With the u flag, a surrogate pair is one code point: what matches is a surrogate without its other half. */
const LONE_SURROGATE = /\p{Cs}/u;

export const TEXT_PROBLEMS = {
  type: 'must be a string',
  singleLine: 'must not contain control characters (NUL, C0 or C1 controls, line breaks)',
  multiLine: 'must not contain control characters other than tabs and line breaks',
  surrogate: 'must be valid Unicode (it contains an unpaired surrogate)',
} as const;

export type TextProblemKind = 'type' | 'characters' | 'length';

/** What is wrong with a value as text of the rule, or null; `kind` tells forms which message key to show. */
export function textProblem(value: unknown, rule: TextRule): { kind: TextProblemKind; message: string } | null {
  if (typeof value !== 'string') return { kind: 'type', message: TEXT_PROBLEMS.type };
  if ((rule.multiline ? MULTI_LINE_CONTROLS : SINGLE_LINE_CONTROLS).test(value))
    return { kind: 'characters', message: rule.multiline ? TEXT_PROBLEMS.multiLine : TEXT_PROBLEMS.singleLine };
  if (LONE_SURROGATE.test(value)) return { kind: 'characters', message: TEXT_PROBLEMS.surrogate };
  const min = rule.min ?? 0;
  // Counting code points costs an array; a value longer in UTF-16 units than 2 × max cannot fit anyway.
  const length = value.length > rule.max * 2 ? Infinity : [...value].length;
  if (length < min || length > rule.max)
    return { kind: 'length', message: min > 0 ? `must be ${min} to ${rule.max} characters` : `must be at most ${rule.max} characters` };
  return null;
}

/** A text with every control character (as single-line text counts them) taken out: for what is shown, never for what is stored. */
export function printable(text: string): string {
  return text.replace(ALL_CONTROLS, '').replace(/\p{Cs}/gu, '\uFFFD');
}

/** Message keys of a form field: its own for a wrong length, the shared one for refused characters. */
export function formMessages(lengthKey: string): { length: string; characters: string } {
  return { length: lengthKey, characters: 'form.invalidCharacters' };
}

/**
 * The text rule as a class-validator decorator, used by every DTO and form that takes text (see TextRule). The API
 * answers with the rule's English message; a form passes `messages` (message keys, see formMessages).
 */
export function SafeText(rule: TextRule, options: ValidationOptions & { messages?: { length: string; characters: string } } = {}): PropertyDecorator {
  const { messages, ...validation } = options;
  return ValidateBy(
    {
      name: 'safeText',
      constraints: [rule],
      validator: {
        validate: (value) => textProblem(value, rule) === null,
        defaultMessage: (args) => {
          const problem = textProblem(args?.value, rule);
          if (!messages) return problem?.message ?? TEXT_PROBLEMS.type;
          return problem?.kind === 'characters' ? messages.characters : messages.length;
        },
      },
    },
    validation,
  );
}
