import { ConflictException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { QueryFailedError } from 'typeorm';
import { ServerConfig } from '../config/server-config';
import { DevicesRepository, IssuedDevice } from '../devices/devices.repository';
import { DevicesService } from '../devices/devices.service';
import { parseRefreshToken } from '../devices/refresh-token';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { UserProfile, UsersRepository } from '../users/users.repository';
import { LoginDto, RefreshResponse, RegisterDto, SessionResponse } from './auth.dto';
import { JwtKeyring } from './jwt-keyring';
import { PasswordHasher } from './password-hasher';

/** `did` is the device; tokens issued before devices existed have none and belong to their session's device. */
interface AccessTokenClaims {
  sub: string;
  jti: string;
  did?: number;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class AuthService {
  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly jwt: JwtService,
    private readonly keyring: JwtKeyring,
    private readonly users: UsersRepository,
    private readonly devices: DevicesRepository,
    private readonly deviceEvents: DevicesService,
    private readonly hasher: PasswordHasher,
    private readonly limiter: RateLimiter,
  ) {}

  /** The account and its first device. */
  async register(input: RegisterDto): Promise<SessionResponse> {
    const passwordHash = await this.hasher.hash(input.password);
    let user: UserProfile;
    try {
      user = await this.users.create({ username: input.username, passwordHash, identityKey: input.identityKey });
    } catch (error) {
      const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
      if (code === UNIQUE_VIOLATION) throw new ConflictException('username is already taken');
      throw error;
    }
    return this.answer(user, await this.deviceEvents.add(user.id, input.deviceName, false, passwordHash));
  }

  /**
   * A login is a new device. Only failed attempts count, per (username, client address) and per username (see
   * DEFAULT_RATE_LIMITS): a stranger's guesses refuse the stranger, never the owner's own client. Each attempt holds
   * its place in the counters while the password is checked, so concurrent guesses cannot overshoot, and gives it
   * back when the password was right. A refused attempt never reaches the password check.
   */
  async login(input: LoginDto, clientAddress: string): Promise<SessionResponse> {
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
    const user = credentials.profile;
    return this.answer(user, await this.deviceEvents.add(user.id, input.deviceName, true, credentials.passwordHash));
  }

  /** Logging out removes the calling device. */
  async logout(user: AuthenticatedUser): Promise<void> {
    await this.deviceEvents.remove(user, user.deviceId);
  }

  /** Checks signature, expiry and that the device is still live (on any instance's say-so). */
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
    if (claims.did !== undefined && !(Number.isInteger(claims.did) && claims.did > 0))
      throw new UnauthorizedException('invalid access token');
    if (!(await this.devices.isLive(claims.sub, claims.jti))) throw new UnauthorizedException('device was removed');
    const deviceId = claims.did ?? (await this.devices.deviceOfSession(claims.sub, claims.jti));
    if (deviceId === undefined) throw new UnauthorizedException('device was removed');
    return { id: claims.sub, deviceId, sessionId: claims.jti };
  }

  /** As `authenticate`, and when the token expires (the WebSocket gateway closes the socket then). */
  async authenticateUntil(token: string | undefined): Promise<{ user: AuthenticatedUser; expiresAt: Date }> {
    const user = await this.authenticate(token);
    // Verified just above; decode only reads the expiry.
    const { exp } = this.jwt.decode<{ exp: number }>(token!);
    return { user, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Trades a refresh token for a new access token and the next refresh token. A spent refresh token presented again
   * means a copy exists: the device is removed (its sockets close, its tokens stop working) and the caller gets 401.
   */
  async refresh(refreshToken: string): Promise<RefreshResponse> {
    const presented = parseRefreshToken(refreshToken);
    if (!presented) throw new UnauthorizedException('invalid refresh token');
    const result = await this.devices.rotateRefreshToken(presented, this.config.jwt.refreshTokenTtlSeconds);
    if (result.outcome === 'reused') {
      await this.deviceEvents.removed(result.device.userId);
      throw new UnauthorizedException('refresh token was already used; the device has been removed');
    }
    if (result.outcome === 'invalid') throw new UnauthorizedException('invalid or expired refresh token');
    const { device } = result;
    return {
      accessToken: await this.accessToken(device.userId, device.id, device.sessionId),
      refreshToken: result.refreshToken,
      refreshExpiresAt: result.refreshExpiresAt.toISOString(),
    };
  }

  private async answer(user: UserProfile, device: IssuedDevice): Promise<SessionResponse> {
    return {
      user,
      deviceId: device.deviceId,
      accessToken: await this.accessToken(user.id, device.deviceId, device.sessionId),
      refreshToken: device.refreshToken,
    };
  }

  private accessToken(userId: string, deviceId: number, sessionId: string): Promise<string> {
    return this.keyring.sign({ sub: userId, did: deviceId, jti: sessionId });
  }
}
