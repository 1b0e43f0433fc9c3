import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
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
  live() {
    return this.health.liveness();
  }

  /** Each dependency; 503 when the instance cannot accept messages (primary or SQS down), 200 when degraded. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: HttpResponse) {
    const readiness = await this.health.readiness();
    response.status(readiness.status === 'down' ? 503 : 200);
    return readiness;
  }
}
