import { createHash } from 'node:crypto';
import { WorkerLogger } from '../observability/logger';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';

/** Local runs: logs each push instead of sending it (a fingerprint of the token, not the token). */
export class LogPushProvider implements PushProvider {
  readonly name = 'log';

  constructor(private readonly logger: WorkerLogger) {}

  async send(notification: PushNotification): Promise<PushOutcome> {
    const token = createHash('sha256').update(notification.token).digest('hex').slice(0, 12);
    this.logger.info({ push: { ...notification, token } }, 'push (log provider)');
    return 'delivered';
  }
}
