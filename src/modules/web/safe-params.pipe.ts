import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { ProblemException } from './errors';
import type { FieldProblem } from './problem';
import { textProblem } from './rules';

/** Longer than any address a route takes (Node refuses request heads over 16 KiB anyway). */
const PARAM_RULE = { max: 8192 };

/**
 * The text rule (rules.ts) on every query and path parameter a route reads, whatever the route: a NUL in `?q=` or
 * `/tokens/:id` is a 400 naming the parameter before any SQL sees it (PostgreSQL answered 500). Registered for the
 * whole application (WebModule), so a new route is covered without a decorator. Bodies are the DTOs' to check.
 */
@Injectable()
export class SafeParamsPipe implements PipeTransform<unknown, unknown> {
  transform(value: unknown, { type, data }: ArgumentMetadata): unknown {
    if (type !== 'query' && type !== 'param') return value;
    const problems: FieldProblem[] = [];
    const check = (field: string, v: unknown) => {
      for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
        if (typeof item !== 'string') continue;
        const problem = textProblem(item, PARAM_RULE);
        if (problem) return problems.push({ field, message: problem.message });
      }
    };
    if (data) check(data, value);
    else if (typeof value === 'object' && value !== null) for (const [key, v] of Object.entries(value)) check(key, v);
    if (problems.length) throw new ProblemException(400, 'Some parameters are invalid.', problems);
    return value;
  }
}
