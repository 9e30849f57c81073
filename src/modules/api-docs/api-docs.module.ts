import { Global, Module } from '@nestjs/common';
import { ApiDocs } from './api-docs';
import { ApiDocsController } from './api-docs.controller';

@Global()
@Module({ controllers: [ApiDocsController], providers: [ApiDocs], exports: [ApiDocs] })
export class ApiDocsModule {}
