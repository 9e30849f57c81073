export { configureWeb, BODY_LIMIT } from './configure-web';
export { WebModule } from './web.module';
export { render, field, safeNext } from './render';
export { ProblemException, SignInRequired } from './errors';
export { sendError, problem, type Problem, type FieldProblem } from './problem';
export { translate, formatInstant, catalogKeys, LOCALES, type Locale } from './i18n';
