export { accessLog, requestIdOf } from './access-log.middleware';
export { PinoLoggerService } from './pino-logger.service';
export { requestContext, type RequestContext } from './request-context';
export { createRootLogger, flushLogFiles, REDACTED_PATHS } from './root-logger';
export { DailyLogFiles, LOG_FILE, utcDay } from './daily-files';
