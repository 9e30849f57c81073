import { ValidateBy, ValidationOptions } from 'class-validator';
import { isLocale, isTimeZone } from '../web';
import { isTheme } from './user.entity';

/** The page shows one notice for the whole form. */
const INVALID: ValidationOptions = { message: 'form.errors' };

/** The account's language, time zone and colour theme. */
export class PreferencesForm {
  /** A language of the catalog, or empty: the browser's. */
  @ValidateBy({ name: 'locale', validator: { validate: (v) => v === '' || isLocale(v) } }, INVALID)
  locale!: string;

  @ValidateBy({ name: 'timeZone', validator: { validate: (v) => isTimeZone(v) } }, INVALID)
  timeZone!: string;

  /** light, dark or system; empty or absent (an older form, a script) leaves the theme as it is. */
  @ValidateBy({ name: 'theme', validator: { validate: (v) => v === '' || isTheme(v) } }, INVALID)
  theme!: string;
}
