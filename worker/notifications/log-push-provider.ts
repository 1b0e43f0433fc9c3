import { WorkerLogger } from '../observability/logger';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';

/** Local runs: logs each push instead of sending it. */
export class LogPushProvider implements PushProvider {
  readonly name = 'log';

  constructor(private readonly logger: WorkerLogger) {}

  async send(notification: PushNotification): Promise<PushOutcome> {
    this.logger.info({ push: notification }, 'push (log provider)');
    return 'delivered';
  }
}
