import { ValidateBy, ValidationOptions } from 'class-validator';
import { isLocale, isTimeZone } from '../web';

/** The page shows one notice for the whole form. */
const INVALID: ValidationOptions = { message: 'form.errors' };

/** The account's language and time zone. */
export class PreferencesForm {
  /** A language of the catalog, or empty: the browser's. */
  @ValidateBy({ name: 'locale', validator: { validate: (v) => v === '' || isLocale(v) } }, INVALID)
  locale!: string;

  @ValidateBy({ name: 'timeZone', validator: { validate: (v) => isTimeZone(v) } }, INVALID)
  timeZone!: string;
}
