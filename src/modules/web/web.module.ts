import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HomeController } from './home.controller';
import { HttpErrorFilter } from './http-error.filter';

@Module({
  controllers: [HomeController],
  providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
})
export class WebModule {}
