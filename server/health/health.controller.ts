import { Controller, Get, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import { Public } from '../auth/auth.decorators';
import type { HttpResponse } from '../http/http-types';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** The ALB target check: shallow, so one shared dependency failing does not empty the target group. */
  @Get()
  @ApiSummary('getLiveness', 'Liveness', 'Shallow: 200 while the process serves, 503 while it drains before shutdown.')
  @ApiResponse({ status: 200, description: 'Serving' })
  @ApiErrors(429, [503, 'Draining before shutdown'])
  live() {
    return this.health.liveness();
  }

  /** Each dependency; 503 when the instance cannot accept messages (primary or SQS down), 200 when degraded. */
  @Get('ready')
  @ApiSummary(
    'getReadiness',
    'Readiness of each dependency',
    '200 when up or degraded, 503 when messages cannot be accepted.',
  )
  @ApiResponse({ status: 200, description: 'Up or degraded: each dependency and its state' })
  @ApiResponse({ status: 503, description: 'Down: the primary database or SQS is unreachable (same body)' })
  @ApiErrors(429)
  async ready(@Res({ passthrough: true }) response: HttpResponse) {
    const readiness = await this.health.readiness();
    response.status(readiness.status === 'down' ? 503 : 200);
    return readiness;
  }
}
