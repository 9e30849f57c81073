import { ValidationError, ValidationPipe } from '@nestjs/common';
import { type FieldProblem, ProblemException } from '../web';

/** class-validator's errors as problem-details field problems ("tags[3]": "must be …"). */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = parent ? (/^\d+$/.test(e.property) ? `${parent}[${e.property}]` : `${parent}.${e.property}`) : e.property;
    const own = Object.entries(e.constraints ?? {}).map(([name, message]) => ({
      field,
      message: name === 'whitelistValidation' ? 'is not an accepted field' : message.replace(new RegExp(`^(each value in )?${e.property} `), ''),
    }));
    return [...own.slice(0, 1), ...fieldProblems(e.children ?? [], field)];
  });
}

/** Bodies are checked against their DTO: unknown fields (role, ownerId …) and wrong types are a 400. */
export const apiValidationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  exceptionFactory: (errors) => new ProblemException(400, 'Some fields are invalid.', fieldProblems(errors)),
});
