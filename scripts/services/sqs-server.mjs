// The local SQS-compatible server: fauxqs, bound to loopback only (its own CLI listens on 0.0.0.0).
// Usage: node scripts/services/sqs-server.mjs <port>
import { buildApp } from 'fauxqs';
// Not in the package's exports; the store's default host would name queues sqs.<region>.localhost, which
// does not resolve, so an SDK that follows the queue URL (as it does on AWS) could not reach them.
import { SqsStore } from '../../node_modules/fauxqs/dist/sqs/sqsStore.js';

const port = Number(process.argv[2] ?? process.env.CYPHR_SQS_PORT ?? 59324);
const host = '127.0.0.1';
// No `host` option: queue URLs then carry the request's own host (http://127.0.0.1:<port>/000000000000/<name>).
const sqsStore = new SqsStore();
sqsStore.host = '';
const app = buildApp({ logger: false, defaultRegion: 'us-east-1', stores: { sqsStore } });

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
  await app.listen({ port, host });
  console.log(`fauxqs listening on http://${host}:${port}`);
} catch (error) {
  console.error(`fauxqs could not listen on ${host}:${port}: ${error.message}`);
  process.exit(1);
}
