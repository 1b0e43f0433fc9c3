import 'reflect-metadata';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, IsUrl } from 'class-validator';
import { parseArgs } from 'node:util';
import { createSqsClient } from '../../common/aws/sqs-client';
import { validateEnvironment } from '../../common/config/environment';
import { loadLocalEnvFile } from '../../common/config/local-env-file';
import { readRedrive, resolveQueueUrl } from '../queue/redrive';
import { DeadLetter, listDeadLetters, purgeDeadLetters, replayDeadLetters } from './dlq-tool';

const USAGE = `usage: npm run dlq -- <list|replay|purge> [options]

  list     show dead letters: id, receives, age, source queue, reject reason, envelope ids (never content)
  replay   move dead letters back to their source queue (send, then delete from the DLQ)
  purge    delete dead letters (--limit N, or --all for the whole queue)

options:
  --queue <name|url|arn>  the DLQ (default: the DLQ of SQS_MESSAGES_QUEUE_URL's redrive policy)
  --to <name|url|arn>     replay: target queue (default: each message's recorded source queue)
  --limit <n>             at most n messages (default 100 for list and replay)
  --all                   purge: everything in the queue
  --json                  one JSON object per line instead of a table`;

const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** The few settings the tool needs; it touches neither PostgreSQL nor Redis. */
class DlqEnvironment {
  @IsNotEmpty({ message: 'AWS_REGION is required' })
  @IsString()
  AWS_REGION: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  SQS_ENDPOINT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  SQS_MESSAGES_QUEUE_URL?: string;
}

function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function printTable(letters: DeadLetter[]): void {
  if (letters.length === 0) {
    console.log('dlq: empty');
    return;
  }
  const rows = letters.map((letter) => [
    letter.messageId,
    String(letter.receives),
    formatAge(letter.ageSeconds),
    letter.source?.split(/[/:]/).pop() ?? '?',
    letter.reason ?? '(redrive: failed maxReceiveCount times)',
    JSON.stringify(letter.summary),
  ]);
  const header = ['MESSAGE ID', 'RECEIVES', 'AGE', 'SOURCE', 'REASON', 'ENVELOPE'];
  const widths = header.map((title, column) =>
    Math.min(60, Math.max(title.length, ...rows.map((row) => row[column].length))),
  );
  for (const row of [header, ...rows])
    console.log(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  '));
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      queue: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !['list', 'replay', 'purge'].includes(command ?? '')) {
    console.log(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new Error('--limit must be a positive integer');

  loadLocalEnvFile();
  const env = validateEnvironment(DlqEnvironment, process.env);
  const sqs = createSqsClient(env);
  try {
    let dlqUrl: string;
    if (values.queue) dlqUrl = await resolveQueueUrl(sqs, values.queue);
    else if (env.SQS_MESSAGES_QUEUE_URL) {
      const redrive = await readRedrive(sqs, env.SQS_MESSAGES_QUEUE_URL);
      if (!redrive.deadLetterQueueUrl) throw new Error('SQS_MESSAGES_QUEUE_URL has no redrive policy: pass --queue');
      dlqUrl = redrive.deadLetterQueueUrl;
    } else throw new Error('pass --queue (or set SQS_MESSAGES_QUEUE_URL)');

    if (command === 'list') {
      const letters = await listDeadLetters(sqs, dlqUrl, limit ?? 100);
      if (values.json) for (const letter of letters) console.log(JSON.stringify(letter));
      else printTable(letters);
    } else if (command === 'replay') {
      const result = await replayDeadLetters(sqs, dlqUrl, { limit: limit ?? 100, to: values.to });
      if (values.json) console.log(JSON.stringify(result));
      else {
        const targets = [...new Set(result.replayed.map((entry) => entry.to))];
        console.log(
          `dlq: replayed ${result.replayed.length} message(s)${targets.length ? ` to ${targets.join(', ')}` : ''}`,
        );
        for (const skip of result.skipped) console.log(`dlq: kept ${skip.messageId}: ${skip.reason}`);
      }
      if (result.skipped.length > 0) process.exitCode = 1;
    } else {
      if (!values.all && limit === undefined) throw new Error('purge needs --limit N or --all');
      const purged = await purgeDeadLetters(sqs, dlqUrl, values.all ? 'all' : (limit as number));
      console.log(
        values.json
          ? JSON.stringify({ purged })
          : `dlq: purged ${purged === 'all' ? 'the whole queue' : `${purged} message(s)`}`,
      );
    }
  } finally {
    sqs.destroy();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`dlq: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
