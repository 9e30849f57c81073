import type { MessageArg } from './i18n';
import { Page } from './page';

/** The second step of a destructive action: what it does, what will be lost, and the one form that does it. */
export interface Confirmation {
  /** Message keys: the page's heading, the question (with `args`), what cannot be undone, the button. */
  title: string;
  question: string;
  args?: MessageArg[];
  consequence: string;
  submit: string;
  /** What will be lost, by name (titles, token names), at most a screenful; `more` counts the rest. */
  items?: string[];
  more?: number;
  /** Where the form posts (with confirm=yes), and where Cancel goes. */
  action: string;
  cancel: string;
}

/** The confirmation page: a real form, so that it works without JavaScript and cannot be skipped by a stray click. */
export function confirmationPage(c: Confirmation): Page {
  return new Page('confirm', { width: 'medium', args: [], items: [], more: 0, ...c });
}

/** Whether a destructive form's post is its confirmed second step (`confirm=yes`); anything else changes nothing. */
export function confirmed(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as Record<string, unknown>).confirm === 'yes';
}
