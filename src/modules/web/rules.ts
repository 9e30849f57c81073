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
