import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import type { AuthenticatedUser } from '../http/http-types';
import { pushTokenProblem } from '../../common/contracts/push-tokens';
import { SetPushTokenDto } from './device-push.dto';
import { DevicePushRepository } from './device-push.repository';

/**
 * Where the worker sends a device's wake-ups. Any of the caller's own devices may be set (a desktop app may
 * register its phone's token), never another account's: those answer 404 like a device that does not exist.
 */
@Injectable()
export class DevicePushService {
  constructor(private readonly push: DevicePushRepository) {}

  async set(user: AuthenticatedUser, deviceId: number, body: SetPushTokenDto): Promise<void> {
    const problem = pushTokenProblem(body.provider, body.token);
    if (problem) throw new BadRequestException(problem);
    if (!(await this.push.set(user.id, deviceId, body.provider, body.token))) throw notFound();
  }

  async clear(user: AuthenticatedUser, deviceId: number): Promise<void> {
    if (!(await this.push.clear(user.id, deviceId))) throw notFound();
  }
}

const notFound = () => new NotFoundException('no such device on your account');
