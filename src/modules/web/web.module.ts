import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter';
import { PageInterceptor } from './page.interceptor';

/** The error pages and problem+json answers of every route, and the pages and redirects routes return. */
@Module({
  providers: [
    { provide: APP_FILTER, useClass: HttpErrorFilter },
    { provide: APP_INTERCEPTOR, useClass: PageInterceptor },
  ],
})
export class WebModule {}
