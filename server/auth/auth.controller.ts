import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
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
  @ApiResponse({ status: 201, type: SessionResponse })
  register(@Body() body: RegisterDto): Promise<SessionResponse> {
    return this.auth.register(body);
  }

  @Public()
  @RateLimit('loginIp')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiResponse({ status: 200, type: SessionResponse })
  @ApiResponse({ status: 429, description: 'Too many failed logins for this username from this client' })
  login(@Body() body: LoginDto, @ClientAddress() clientAddress: string): Promise<SessionResponse> {
    return this.auth.login(body, clientAddress);
  }

  /** Ends this session on every instance; other devices stay logged in. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  logout(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.auth.logout(user);
  }

  /** A fresh access token for this session (short-lived tokens are renewed here, sockets included). */
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiResponse({ status: 200, type: RefreshResponse })
  refresh(@CurrentUser() user: AuthenticatedUser): Promise<RefreshResponse> {
    return this.auth.refresh(user);
  }

  @Get('sessions')
  @ApiBearerAuth()
  @ApiResponse({ status: 200, type: [SessionView] })
  sessions(@CurrentUser() user: AuthenticatedUser): Promise<SessionView[]> {
    return this.auth.sessionsOf(user);
  }

  /** Ends one of your sessions (a lost device) on every instance; its sockets close with 4001. */
  @Delete('sessions/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  revokeSession(@CurrentUser() user: AuthenticatedUser, @Param() params: SessionIdParams): Promise<void> {
    return this.auth.revokeSession(user, params.id);
  }
}
