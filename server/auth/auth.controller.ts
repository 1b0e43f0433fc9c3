import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { ClientAddress } from '../rate-limits/client-address';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { CurrentUser, Public } from './auth.decorators';
import { LoginDto, RefreshResponse, RegisterDto, SessionIdParams, SessionResponse, SessionView } from './auth.dto';
import { AuthService } from './auth.service';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @RateLimit('registerIp')
  @Post('register')
  @ApiSummary('register', 'Create an account', 'Creates the account with its identity key and answers a first session.')
  @ApiResponse({ status: 201, type: SessionResponse })
  @ApiErrors(400, [409, 'The username is taken'], 429)
  register(@Body() body: RegisterDto): Promise<SessionResponse> {
    return this.auth.register(body);
  }

  @Public()
  @RateLimit('loginIp')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiSummary('login', 'Log in', 'Starts a new session (one per device) with the username and password.')
  @ApiResponse({ status: 200, type: SessionResponse })
  @ApiErrors(
    400,
    [401, 'Wrong username or password'],
    [429, 'Too many failed logins for this username from this client'],
  )
  login(@Body() body: LoginDto, @ClientAddress() clientAddress: string): Promise<SessionResponse> {
    return this.auth.login(body, clientAddress);
  }

  /** Ends this session on every instance; other devices stay logged in. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  @ApiSummary('logout', 'End this session', 'Ends this session on every instance; its sockets close with 4001.')
  @ApiResponse({ status: 204, description: 'The session has ended' })
  @ApiErrors(401, 429)
  logout(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.auth.logout(user);
  }

  /** A fresh access token for this session (short-lived tokens are renewed here, sockets included). */
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiSummary('refreshAccessToken', 'Renew the access token', 'A fresh access token for the same session.')
  @ApiResponse({ status: 200, type: RefreshResponse })
  @ApiErrors(401, 429)
  refresh(@CurrentUser() user: AuthenticatedUser): Promise<RefreshResponse> {
    return this.auth.refresh(user);
  }

  @Get('sessions')
  @ApiBearerAuth()
  @ApiSummary('listSessions', 'List your live sessions')
  @ApiResponse({ status: 200, type: [SessionView] })
  @ApiErrors(401, 429)
  sessions(@CurrentUser() user: AuthenticatedUser): Promise<SessionView[]> {
    return this.auth.sessionsOf(user);
  }

  /** Ends one of your sessions (a lost device) on every instance; its sockets close with 4001. */
  @Delete('sessions/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  @ApiSummary(
    'revokeSession',
    'End one of your sessions',
    'For a lost device: its tokens stop working and its sockets close with 4001.',
  )
  @ApiResponse({ status: 204, description: 'The session has ended' })
  @ApiErrors(400, 401, [404, 'No such live session of yours'], 429)
  revokeSession(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionIdParams): Promise<void> {
    return this.auth.revokeSession(user, params.id);
  }
}
