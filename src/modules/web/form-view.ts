import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { catchError, from, Observable } from 'rxjs';
import { FormInvalid, FormState } from './form';
import { Page } from './page';

const FORM_VIEW_KEY = 'kiroku:form-view';

/** A controller method that builds a form's page from what was sent and what is wrong with it. */
export type FormPage = (form: FormState, req: Request) => Page | Promise<Page>;
type FormPageOf<C> = { [K in keyof C]: C[K] extends FormPage ? K : never }[keyof C] & string;

/**
 * The page a refused form answers with: `method` of the route's controller,
 * given the form's values and errors (FormInvalid). The status is 400 unless
 * the page has a 4xx of its own (sign-up closed: 403). A method may also throw
 * (a form for something that is not there: 404).
 */
export function FormView<C>(method: FormPageOf<C>): MethodDecorator {
  return applyDecorators(SetMetadata(FORM_VIEW_KEY, method), UseInterceptors(FormViewInterceptor));
}

/** Turns a FormInvalid thrown for a @FormView route (by FormPipe or by the handler) into the route's form page. */
@Injectable()
export class FormViewInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly modules: ModuleRef,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (!(error instanceof FormInvalid)) throw error;
        return from(this.formPage(context, error.form));
      }),
    );
  }

  private async formPage(context: ExecutionContext, form: FormState): Promise<Page> {
    const method = this.reflector.get<string>(FORM_VIEW_KEY, context.getHandler());
    const controller = this.modules.get<object, Record<string, FormPage>>(context.getClass(), { strict: false });
    const page = await controller[method](form, context.switchToHttp().getRequest<Request>());
    return page.status >= 400 ? page : page.with({ status: 400 });
  }
}
