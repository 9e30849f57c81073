import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { AccountController } from './account.controller';
import { AccountsModule } from './accounts.module';
import { AuthController } from './auth.controller';
import { AuthMiddleware } from './auth.middleware';
import { Cookies } from './cookies';
import { CsrfMiddleware } from './csrf.middleware';
import { MeController } from './me.controller';
import { MultipartMiddleware } from './multipart.middleware';
import { SessionPruneTask } from './session-prune.task';
import { SignInService } from './sign-in.service';

@Module({
  imports: [AccountsModule],
  controllers: [AuthController, AccountController, MeController],
  providers: [Cookies, SignInService, SessionPruneTask, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AccountsModule, Cookies],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthMiddleware, MultipartMiddleware, CsrfMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
