import { Module } from '@nestjs/common';
import { AccountLinksRepository } from './account-links.repository';
import { AccountLinks } from './account-links.service';
import { AccountsRetention } from './accounts.retention';
import { Accounts } from './accounts.service';
import { ApiTokensRepository } from './api-tokens.repository';
import { ApiTokens } from './api-tokens.service';
import { LoginThrottleRepository } from './login-throttle.repository';
import { LoginThrottleService } from './login-throttle.service';
import { PasswordHasher } from './passwords';
import { SessionStore } from './session.store';
import { SessionsRepository } from './sessions.repository';
import { UsersRepository } from './users.repository';

/** The account services without HTTP: what the web layer and the CLI share. */
@Module({
  providers: [
    { provide: PasswordHasher, useValue: new PasswordHasher() },
    UsersRepository,
    SessionsRepository,
    ApiTokensRepository,
    AccountLinksRepository,
    AccountLinks,
    LoginThrottleRepository,
    Accounts,
    ApiTokens,
    LoginThrottleService,
    SessionStore,
    AccountsRetention,
  ],
  exports: [Accounts, AccountLinks, ApiTokens, LoginThrottleService, SessionStore],
})
export class AccountsModule {}
