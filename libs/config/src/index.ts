export { ConfigModule, KIROKU_CONFIG } from './config.module';
export { ConfigError, InvalidSettingError, type SettingProblem } from './errors';
export { allSettings, findConfigDir, loadConfig, type LoadConfigOptions } from './loader';
export { APP_VERSION } from './app-info';
export { parseDuration } from './parsers';
export { describeConfig, secretValues, REDACTED, type PrintedSetting } from './redaction';
export { checkDeployment, blockingFindings, formatFinding, type Finding, type FindingLevel } from './checks';
export {
  AlertConfig,
  AppConfig,
  BackupConfig,
  DatabaseConfig,
  LogConfig,
  MetricsConfig,
  SecurityConfig,
  ENVIRONMENTS,
  type Environment,
  type KirokuConfig,
} from './schema';
export { prepareSqliteFile } from './sqlite-file';
export { ensureGeneratedBackupKey, GENERATED_IDENTITY_NAME, generatedIdentityPath, useGeneratedBackupKey } from './generated-key';
