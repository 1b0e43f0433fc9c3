import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { UserProfile, UsersRepository } from '../users/users.repository';
import { LoginDto, RegisterDto } from './auth.dto';
import { JwtKeyring } from './jwt-keyring';
import { PasswordHasher } from './password-hasher';
import { SessionsRepository } from './sessions.repository';

interface AccessTokenClaims {
  sub: string;
  jti: string;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class AuthService {
  constructor(
    private readonly jwt: JwtService,
    private readonly keyring: JwtKeyring,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly hasher: PasswordHasher,
    private readonly limiter: RateLimiter,
  ) {}

  async register(input: RegisterDto): Promise<{ user: UserProfile; accessToken: string }> {
    const passwordHash = await this.hasher.hash(input.password);
    let user: UserProfile;
    try {
      user = await this.users.create({ username: input.username, passwordHash, identityKey: input.identityKey });
    } catch (error) {
      const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
      if (code === UNIQUE_VIOLATION) throw new ConflictException('username is already taken');
      throw error;
    }
    return { user, accessToken: await this.startSession(user.id) };
  }

  async login(input: LoginDto): Promise<{ user: UserProfile; accessToken: string }> {
    await this.limiter.consume('loginUsername', input.username.toLowerCase());
    const credentials = await this.users.findCredentials(input.username);
    const valid = credentials
      ? await this.hasher.verify(credentials.passwordHash, input.password)
      : await this.hasher.verifyNothing(input.password);
    if (!credentials || !valid) throw new UnauthorizedException('invalid username or password');
    return { user: credentials.profile, accessToken: await this.startSession(credentials.profile.id) };
  }

  async logout(user: AuthenticatedUser): Promise<void> {
    await this.sessions.revoke(user.id, user.sessionId);
  }

  /** Checks signature, expiry and that the session is still live (on any instance's say-so). */
  async authenticate(token: string | undefined): Promise<AuthenticatedUser> {
    if (!token) throw new UnauthorizedException('missing access token');
    let claims: AccessTokenClaims;
    try {
      claims = await this.keyring.verify<AccessTokenClaims>(token);
    } catch {
      throw new UnauthorizedException('invalid or expired access token');
    }
    if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string')
      throw new UnauthorizedException('invalid access token');
    if (!(await this.sessions.isLive(claims.sub, claims.jti))) throw new UnauthorizedException('session has ended');
    return { id: claims.sub, sessionId: claims.jti };
  }

  private async startSession(userId: string): Promise<string> {
    const sessionId = randomUUID();
    const token = await this.keyring.sign({ sub: userId, jti: sessionId });
    const { exp } = this.jwt.decode<{ exp: number }>(token);
    await this.sessions.create(userId, sessionId, new Date(exp * 1000));
    return token;
  }
}
