import { HttpException, HttpStatus } from '@nestjs/common';
import type { FieldProblem, ProblemExtras } from './problem';

/** The caller must sign in: pages redirect to /login, the API answers 401. */
export class SignInRequired extends HttpException {
  constructor() {
    super('Sign-in required', HttpStatus.UNAUTHORIZED);
  }
}

/** A 4xx with field problems, answered as problem+json (API) or the error page. */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly detail: string,
    readonly fieldErrors: FieldProblem[] = [],
    /** Members added to the problem (RFC 9457 extensions: `currentVersion`) and headers sent with it (`ETag`). */
    readonly extra: ProblemExtras = {},
  ) {
    super(detail, status);
  }
}

/**
 * A browser form whose CSRF token does not match (the session ended or changed since the page was loaded), though
 * it came from this site: a form that can be answered again (FormRescues) comes back with what was sent.
 */
export class FormExpired extends HttpException {
  constructor() {
    super('The request was refused: reload the page and try again.', HttpStatus.FORBIDDEN);
  }
}

/** A body the parsers could not read (413 too large, 400 malformed), answered once the caller is known (see configureWeb). */
export class BodyRefused extends ProblemException {}
