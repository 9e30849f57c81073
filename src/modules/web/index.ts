export { Access, AdminOnly, Public, SignedIn, ACCESS_KEY, type AccessLevel } from './access.decorator';
export { configureWeb, bodyRefusalOf, BODY_LIMIT, FORM_BODY_LIMIT } from './configure-web';
export { WebModule } from './web.module';
export { Page, RedirectTo, applyCookies, safeNext, type SetCookie, type ReplyOptions } from './page';
export { confirmationPage, confirmed, type Confirmation } from './confirmation';
export { Form, FormPipe, FormInvalid, formValues, type FormState } from './form';
export { FormRescues, type FormRescue, type FormRefusal } from './form-rescue';
export { FormView, type FormPage } from './form-view';
export { Pages } from './page.interceptor';
export { CharLength, SafeText, formMessages, printable, textProblem, TEXT_PROBLEMS, type TextRule } from './rules';
export { BodyRefused, FormExpired, ProblemException, SignInRequired } from './errors';
export { sendError, problem, type Problem, type FieldProblem, type ProblemExtras } from './problem';
export { ProblemDto } from './problem.dto';
export {
  loadOpenApi,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExcludeController,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from './openapi';
export { translate, formatInstant, catalogKeys, hasMessage, isLocale, isTimeZone, LOCALES, type Locale } from './i18n';
export { VIEWS_DIR } from './view-engine';
export { markdownText, renderMarkdown, toggleTask } from './markdown';
export { bearerMatches, hmac, randomToken, safeEqual, seal, sha256, unseal } from './secrets';
