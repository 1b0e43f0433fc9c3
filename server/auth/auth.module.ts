import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { createSecretKey } from 'node:crypto';
import { ServerConfig } from '../config/server-config';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { UsersRepository } from '../users/users.repository';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { PasswordHasher } from './password-hasher';
import { SessionsRepository } from './sessions.repository';

/** Accounts and sessions: also provides the users repository, the hasher and the limiter to the modules that import it. */
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [ServerConfig],
      useFactory: (config: ServerConfig) => ({
        // A KeyObject, not the string: given a string, jsonwebtoken first tries to parse it as a PEM public key
        // (createPublicKey throws) on every verify, which was ~20 % of the API's CPU on the send path.
        secret: createSecretKey(Buffer.from(config.jwt.secret)),
        signOptions: { algorithm: 'HS256', expiresIn: config.jwt.ttlSeconds },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, AuthGuard, SessionsRepository, PasswordHasher, UsersRepository, RateLimiter],
  exports: [AuthService, AuthGuard, SessionsRepository, PasswordHasher, UsersRepository, RateLimiter],
})
export class AuthModule {}
