import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { AccountLinksController } from './account-links.controller';
import { AccountController } from './account.controller';
import { AccountsModule } from './accounts.module';
import { AuthController } from './auth.controller';
import { AuthMiddleware } from './auth.middleware';
import { Cookies } from './cookies';
import { CsrfMiddleware } from './csrf.middleware';
import { HomeController } from './home.controller';
import { MeController } from './me.controller';
import { MultipartMiddleware } from './multipart.middleware';
import { SignInService } from './sign-in.service';

@Module({
  imports: [AccountsModule],
  controllers: [HomeController, AuthController, AccountController, AccountLinksController, MeController],
  providers: [Cookies, SignInService, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AccountsModule, Cookies],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuthMiddleware, MultipartMiddleware, CsrfMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
