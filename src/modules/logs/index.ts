export { accessLog, requestIdOf } from './access-log.middleware';
export { PinoLoggerService } from './pino-logger.service';
export { requestContext, type RequestContext } from './request-context';
export { createRootLogger, endLogFiles, flushLogFiles } from './root-logger';
export { redactSecrets, SECRET_KEYS } from './redact';
export { DailyLogFiles, LOG_FILE, utcDay } from './daily-files';
export { type LogQuery, searchLogs, type LogEntry } from './log-search';
