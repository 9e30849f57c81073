import { CallHandler, ExecutionContext, Injectable, NestInterceptor, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import { mergeMap, Observable } from 'rxjs';
import { applyCookies, Page, RedirectTo } from './page';

/**
 * Marks a controller whose routes return pages and redirects (Page, RedirectTo): PageInterceptor sends them. Only
 * such controllers pay for an interceptor (about 25 µs a request in rxjs): the JSON API, probes and /metrics do not.
 */
export const Pages = (): ClassDecorator & MethodDecorator => UseInterceptors(PageInterceptor);

/**
 * Sends the pages and redirects routes return: status, headers and cookies
 * first, then the rendered template (handed to Nest to send) or Express's own
 * redirect. Anything else a route returns passes untouched.
 */
@Injectable()
export class PageInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      mergeMap(async (value: unknown) => {
        if (value instanceof Page) return renderPage(res, value);
        if (value instanceof RedirectTo) return redirect(res, value);
        return value;
      }),
    );
  }
}

function prepare(res: Response, reply: Page | RedirectTo): void {
  res.status(reply.status);
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  applyCookies(res, reply.cookies);
}

/** Sends a page outside a route's interceptors (the error filter's form pages). */
export async function sendPage(res: Response, page: Page): Promise<void> {
  const html = await renderPage(res, page);
  res.type('text/html').send(html);
}

/** The page's HTML; a template that fails is an error like any other (logged, answered with the error page). */
function renderPage(res: Response, page: Page): Promise<string> {
  prepare(res, page);
  // A copy: res.render() writes the request's locals into the object it is given.
  return new Promise((resolve, reject) =>
    res.render(page.view, { ...page.data }, (error: Error | null, html?: string) => (error ? reject(error) : resolve(html ?? ''))),
  );
}

/**
 * Express answers the redirect (Location, its short "Redirecting to" body), as
 * routes did before. Nest then has nothing to send: its empty res.send() on a
 * finished 3xx reply changes nothing.
 */
function redirect(res: Response, to: RedirectTo): undefined {
  prepare(res, to);
  res.redirect(to.status, to.url);
  return undefined;
}
