import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Page } from './page';

/**
 * Why a form was refused before its route could read it: its token no longer matched a signed-in session
 * (`expired`), there is no session any more (`signedOut`), or its body was too large to read (`tooLarge`).
 */
export type FormRefusal = 'expired' | 'signedOut' | 'tooLarge';

/** A form that can be answered again when it is refused before its route runs: the page to send, or null for the plain error page. */
export interface FormRescue {
  method: 'POST';
  /** The form's action, matched against the whole path. */
  path: RegExp;
  page(refusal: FormRefusal, req: Request): Promise<Page | null>;
}

/**
 * Forms whose refusals must not lose what was typed. A refusal decided before routing (the CSRF check, the access
 * guard, the body parsers) reaches only the error filter, which knows the path but not the route: modules register
 * their forms here (the notes form) and the filter answers with the form's page instead of an error page.
 */
@Injectable()
export class FormRescues {
  private readonly rescues: FormRescue[] = [];

  register(rescue: FormRescue): void {
    this.rescues.push(rescue);
  }

  find(req: Request): FormRescue | undefined {
    return this.rescues.find((r) => r.method === req.method && r.path.test(req.path));
  }
}
