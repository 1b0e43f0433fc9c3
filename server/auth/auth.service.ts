import { ConflictException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
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
/** A session can be refreshed until this long after its login; then the user logs in again. */
export const SESSION_MAX_LIFETIME_SECONDS = 30 * 24 * 3600;

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

  /**
   * Only failed attempts count, per (username, client address) and per username (see DEFAULT_RATE_LIMITS):
   * a stranger's guesses refuse the stranger, never the owner's own client. Each attempt holds its place in
   * the counters while the password is checked, so concurrent guesses cannot overshoot, and gives it back
   * when the password was right. A refused attempt never reaches the password check.
   */
  async login(input: LoginDto, clientAddress: string): Promise<{ user: UserProfile; accessToken: string }> {
    const username = input.username.toLowerCase();
    const client = `${username}|${clientAddress}`;
    const reservations = [await this.limiter.reserve('loginFailures', client)];
    if (await this.limiter.isOver('loginUsernameFailures', username))
      reservations.push(await this.limiter.reserve('loginFailuresUnderAttack', client));
    const refused = reservations.find((reservation) => reservation.over);
    if (refused) {
      await Promise.all(reservations.map((reservation) => reservation.release()));
      throw refused.refuse();
    }

    const credentials = await this.users.findCredentials(input.username);
    const valid = credentials
      ? await this.hasher.verify(credentials.passwordHash, input.password)
      : await this.hasher.verifyNothing(input.password);
    if (!credentials || !valid) {
      await this.limiter.reserve('loginUsernameFailures', username);
      throw new UnauthorizedException('invalid username or password');
    }
    await Promise.all(reservations.map((reservation) => reservation.release()));
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

  /** As `authenticate`, and when the token expires (the WebSocket gateway closes the socket then). */
  async authenticateUntil(token: string | undefined): Promise<{ user: AuthenticatedUser; expiresAt: Date }> {
    const user = await this.authenticate(token);
    // Verified just above; decode only reads the expiry.
    const { exp } = this.jwt.decode<{ exp: number }>(token!);
    return { user, expiresAt: new Date(exp * 1000) };
  }

  /**
   * A fresh access token for the caller's session, which now lasts as long as that token (up to
   * SESSION_MAX_LIFETIME_SECONDS after the login). Short-lived tokens are renewed this way, and sockets are told
   * with a `{type:"auth"}` frame.
   */
  async refresh(user: AuthenticatedUser): Promise<{ accessToken: string; expiresAt: string }> {
    const token = await this.keyring.sign({ sub: user.id, jti: user.sessionId });
    const { exp } = this.jwt.decode<{ exp: number }>(token);
    const until = await this.sessions.extend(
      user.id,
      user.sessionId,
      new Date(exp * 1000),
      SESSION_MAX_LIFETIME_SECONDS,
    );
    if (!until) throw new UnauthorizedException('session has ended');
    return { accessToken: token, expiresAt: until.toISOString() };
  }

  /** The caller's live sessions (one per logged-in device); `current` marks the one making the request. */
  async sessionsOf(
    user: AuthenticatedUser,
  ): Promise<{ id: string; createdAt: string; expiresAt: string; current: boolean }[]> {
    return (await this.sessions.listLive(user.id)).map((session) => ({
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(),
      current: session.id === user.sessionId,
    }));
  }

  /** Ends one of the caller's sessions (a lost device) on every instance, its sockets included. */
  async revokeSession(user: AuthenticatedUser, sessionId: string): Promise<void> {
    if (!(await this.sessions.revoke(user.id, sessionId))) throw new NotFoundException('no such live session');
  }

  private async startSession(userId: string): Promise<string> {
    const sessionId = randomUUID();
    const token = await this.keyring.sign({ sub: userId, jti: sessionId });
    const { exp } = this.jwt.decode<{ exp: number }>(token);
    await this.sessions.create(userId, sessionId, new Date(exp * 1000));
    return token;
  }
}
