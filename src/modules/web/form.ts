import { ArgumentMetadata, Body, Injectable, PipeTransform, Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { ProblemException } from './errors';
import type { FieldProblem } from './problem';

/** What a form sent, each field as a string, and what is wrong with it: field → message key. */
export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
}

/**
 * A form its DTO's rules refused: the route's @FormView page answers it (status 400); without one, the 400 error
 * page, or problem+json naming the fields (`problems` when their wording is not the form's message keys).
 */
export class FormInvalid extends ProblemException {
  constructor(
    readonly form: FormState,
    problems?: FieldProblem[],
    detail = 'Some fields are invalid.',
  ) {
    super(400, detail, problems ?? Object.entries(form.errors).map(([field, message]) => ({ field, message })));
  }
}

const fieldCache = new WeakMap<Type, string[]>();

/** The fields a form DTO declares: the properties its class-validator rules are on. */
function fieldsOf(dto: Type): string[] {
  let fields = fieldCache.get(dto);
  if (!fields) {
    fields = [
      ...new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(dto, '', true, false)
          .map((m) => m.propertyName),
      ),
    ];
    fieldCache.set(dto, fields);
  }
  return fields;
}

/** A form field as a string; anything else (absent, repeated, nested) is empty. */
function stringField(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null && Object.hasOwn(body, name) ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** What a form sent, each field its DTO declares as a string, unchecked: a refused form's page shows it again. */
export function formValues(dto: Type, body: unknown): Record<string, string> {
  return Object.fromEntries(fieldsOf(dto).map((name) => [name, stringField(body, name)]));
}

/**
 * Reads a form body into its DTO class (the parameter's type): each field the
 * DTO declares as a string, `@Transform`s applied, then its class-validator
 * rules checked. Each rule's message is the message key shown beside its
 * field; a field shows its first failed rule only. Fields the DTO does not
 * declare (`_csrf`, anything forged) are not read.
 */
@Injectable()
export class FormPipe implements PipeTransform<unknown, object> {
  transform(body: unknown, { metatype }: ArgumentMetadata): object {
    const fields = metatype ? fieldsOf(metatype) : [];
    if (!metatype || !fields.length) throw new Error(`@Form() needs a DTO class with class-validator rules, not ${metatype?.name ?? 'an untyped parameter'}`);
    const values = Object.fromEntries(fields.map((name) => [name, stringField(body, name)]));
    const form = plainToInstance(metatype as Type<object>, values);
    const problems = validateSync(form, { stopAtFirstError: true, forbidUnknownValues: true });
    if (problems.length) {
      throw new FormInvalid({ values, errors: Object.fromEntries(problems.map((p) => [p.property, Object.values(p.constraints ?? {})[0] ?? 'form.errors'])) });
    }
    return form;
  }
}

/** The route's form, read and checked by FormPipe against the parameter's DTO class. */
export const Form = (): ParameterDecorator => Body(FormPipe);
