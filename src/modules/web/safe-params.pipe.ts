import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { FormInvalid, type FormState } from './form';
import type { FieldProblem } from './problem';
import { printable, textProblem } from './rules';

/** Longer than any address a route takes (Node refuses request heads over 16 KiB anyway). */
const PARAM_RULE = { max: 8192 };

/**
 * The text rule (rules.ts) on every query and path parameter a route reads, whatever the route: a NUL in `?q=` or
 * `/tokens/:id` is a 400 naming the parameter before any SQL sees it (PostgreSQL answered 500). Registered for the
 * whole application (WebModule), so a new route is covered without a decorator. Bodies are the DTOs' to check.
 * The refusal is a FormInvalid: a page with a @FormView (the notes list's search) comes back with what was typed,
 * made printable; elsewhere it is the 400 page, or problem+json naming the parameter.
 */
@Injectable()
export class SafeParamsPipe implements PipeTransform<unknown, unknown> {
  transform(value: unknown, { type, data }: ArgumentMetadata): unknown {
    if (type !== 'query' && type !== 'param') return value;
    const problems: FieldProblem[] = [];
    const form: FormState = { values: {}, errors: {} };
    const check = (field: string, v: unknown) => {
      for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
        if (typeof item !== 'string') continue;
        const problem = textProblem(item, PARAM_RULE);
        if (!problem) continue;
        problems.push({ field, message: problem.message });
        form.values[field] = printable(item).slice(0, PARAM_RULE.max);
        form.errors[field] = problem.kind === 'characters' ? 'form.invalidCharacters' : 'form.errors';
        return;
      }
    };
    if (data) check(data, value);
    else if (typeof value === 'object' && value !== null) for (const [key, v] of Object.entries(value)) check(key, v);
    if (problems.length) throw new FormInvalid(form, problems, 'Some parameters are invalid.');
    return value;
  }
}
