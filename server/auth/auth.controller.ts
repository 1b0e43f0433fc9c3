import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../http/http-types';
import { ClientAddress } from '../rate-limits/client-address';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { CurrentUser, Public } from './auth.decorators';
import { LoginDto, RegisterDto, SessionResponse } from './auth.dto';
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
}
