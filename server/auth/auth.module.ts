import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { ServerConfig } from '../config/server-config';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { UsersRepository } from '../users/users.repository';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { JwtKeyring } from './jwt-keyring';
import { PasswordHasher } from './password-hasher';
import { DevicePushController } from '../devices/device-push.controller';
import { DevicePushRepository } from '../devices/device-push.repository';
import { DevicePushService } from '../devices/device-push.service';
import { DevicesController } from '../devices/devices.controller';
import { DevicesRepository } from '../devices/devices.repository';
import { DevicesService } from '../devices/devices.service';

/** Accounts and their devices: also provides the users repository, the hasher and the limiter to the modules that import it. */
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [ServerConfig],
      // No secret here: JwtKeyring passes the key (a KeyObject, see there) with every sign and verify.
      useFactory: (config: ServerConfig) => ({
        signOptions: { algorithm: 'HS256', expiresIn: config.jwt.ttlSeconds },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController, DevicesController, DevicePushController],
  providers: [
    JwtKeyring,
    AuthService,
    AuthGuard,
    DevicesRepository,
    DevicesService,
    DevicePushRepository,
    DevicePushService,
    PasswordHasher,
    UsersRepository,
    RateLimiter,
  ],
  exports: [AuthService, AuthGuard, DevicesRepository, DevicesService, PasswordHasher, UsersRepository, RateLimiter],
})
export class AuthModule {}
