import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { ClientAddress } from '../rate-limits/client-address';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { CurrentUser, Public } from './auth.decorators';
import { LoginDto, RefreshDto, RefreshResponse, RegisterDto, SessionResponse } from './auth.dto';
import { AuthService } from './auth.service';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @RateLimit('registerIp')
  @Post('register')
  @ApiSummary(
    'register',
    'Create an account',
    'Creates the account with its identity key and its first device, and answers that device’s tokens.',
  )
  @ApiResponse({ status: 201, type: SessionResponse })
  @ApiErrors(400, [409, 'The username is taken'], 429)
  register(@Body() body: RegisterDto): Promise<SessionResponse> {
    return this.auth.register(body);
  }

  @Public()
  @RateLimit('loginIp')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiSummary(
    'login',
    'Log in',
    'A login is a new device of the account; the account’s other devices get `device-added` and its contacts `devices-changed`.',
  )
  @ApiResponse({ status: 200, type: SessionResponse })
  @ApiErrors(
    400,
    [401, 'Wrong username or password'],
    [409, 'The account has 10 devices, the most it may: remove one first'],
    [429, 'Too many failed logins for this username from this client'],
  )
  login(@Body() body: LoginDto, @ClientAddress() clientAddress: string): Promise<SessionResponse> {
    return this.auth.login(body, clientAddress);
  }

  /** Removes this device: its tokens stop working and its sockets close; other devices stay logged in. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  @ApiSummary(
    'logout',
    'Log this device out',
    'Removes the calling device, as DELETE /v1/devices/{deviceId} would: its sockets close with 4001.',
  )
  @ApiResponse({ status: 204, description: 'The device is removed' })
  @ApiErrors(401, 429)
  logout(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.auth.logout(user);
  }

  @Public()
  @RateLimit('refreshIp')
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiSummary(
    'refreshTokens',
    'Trade a refresh token',
    'Answers a new 15-minute access token and the next refresh token; the presented one is spent. Presenting a ' +
      'spent refresh token again removes its device (someone else holds a copy).',
  )
  @ApiResponse({ status: 200, type: RefreshResponse })
  @ApiErrors(400, [401, 'The refresh token is unknown, expired or spent (a spent one also removes its device)'], 429)
  refresh(@Body() body: RefreshDto): Promise<RefreshResponse> {
    return this.auth.refresh(body.refreshToken);
  }
}
