import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { FormRescues } from './form-rescue';
import { HttpErrorFilter } from './http-error.filter';
import { SafeParamsPipe } from './safe-params.pipe';

/**
 * The error pages and problem+json answers of every route, the forms those pages answer again (FormRescues), and
 * the text rule on every route's query and path parameters (SafeParamsPipe).
 */
@Module({
  providers: [FormRescues, { provide: APP_FILTER, useClass: HttpErrorFilter }, { provide: APP_PIPE, useClass: SafeParamsPipe }],
  exports: [FormRescues],
})
export class WebModule {}
