import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter';

/** The error pages and problem+json answers of every route. */
@Module({ providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }] })
export class WebModule {}
