import { Module } from '@nestjs/common';
import { AccountsRetention } from './accounts.retention';
import { Accounts } from './accounts.service';
import { ApiTokens } from './api-tokens.service';
import { LoginThrottleService } from './login-throttle.service';
import { PasswordHasher } from './passwords';
import { SessionStore } from './session.store';

/** The account services without HTTP: what the web layer and the CLI share. */
@Module({
  providers: [{ provide: PasswordHasher, useValue: new PasswordHasher() }, Accounts, ApiTokens, LoginThrottleService, SessionStore, AccountsRetention],
  exports: [Accounts, ApiTokens, LoginThrottleService, SessionStore],
})
export class AccountsModule {}
