import type { Logger } from 'typeorm';

/**
 * TypeORM's logger slot, used only to count failed statements for
 * `kiroku_db_query_errors_total`. The statements and their parameters (which
 * can hold personal data) are never logged: the error reaches its caller,
 * who decides what to say.
 */
export class QueryStats implements Logger {
  errors = 0;

  logQueryError(): void {
    this.errors++;
  }

  logQuery(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
