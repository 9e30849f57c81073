export { ApiDocsModule } from './api-docs.module';
export { ApiDocs } from './api-docs';
