import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FormRescues } from './form-rescue';
import { HttpErrorFilter } from './http-error.filter';

/** The error pages and problem+json answers of every route, and the forms those pages answer again (FormRescues). */
@Module({ providers: [FormRescues, { provide: APP_FILTER, useClass: HttpErrorFilter }], exports: [FormRescues] })
export class WebModule {}
