import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { AccountController } from './account.controller';
import { Accounts } from './accounts.service';
import { ApiTokens } from './api-tokens.service';
import { AuthController } from './auth.controller';
import { AuthMiddleware } from './auth.middleware';
import { Cookies } from './cookies';
import { CsrfMiddleware } from './csrf.middleware';
import { LoginThrottleService } from './login-throttle.service';
import { MeController } from './me.controller';
import { PasswordHasher } from './passwords';
import { SessionPruneTask } from './session-prune.task';
import { SessionStore } from './session.store';
import { SignInService } from './sign-in.service';

@Module({
  controllers: [AuthController, AccountController, MeController],
  providers: [
    { provide: PasswordHasher, useValue: new PasswordHasher() },
    Accounts, ApiTokens, Cookies, LoginThrottleService, SessionStore, SignInService, SessionPruneTask,
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [Accounts, ApiTokens, Cookies, SessionStore],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthMiddleware, CsrfMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
