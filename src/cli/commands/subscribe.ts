import type { Command } from 'commander';
import { WebSocket } from 'ws';
import type { z } from 'zod';
import { PhaseStreamError, UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import { type PickFilter, pickFilterSchema, type ServerMessage } from '../../sink/broadcast/protocol.ts';
import { formatPick, PICK_COLUMNS, type PickFormat } from '../../sink/pick-file.ts';

interface SubscribeOptions {
  network?: string[];
  station?: string[];
  phase?: string[];
  minProbability?: number;
  finalOnly?: boolean;
  since?: string;
  format: string;
  tokenEnv: string;
}

function describeFilterError(error: z.ZodError): string {
  const option = {
    minProbability: '--min-probability',
    networks: '--network',
    stations: '--station',
    phases: '--phase',
  };
  return error.issues
    .map(
      (issue) => `${option[issue.path[0] as keyof typeof option] ?? issue.path.join('.')}: ${issue.message}`,
    )
    .join('; ');
}

/** A server that refused the subscriber (no valid token, or a request it would not take). */
export class SubscribeError extends PhaseStreamError {}

const RETRY_MAX_MS = 30_000;

export function registerSubscribeCommand(program: Command): void {
  program
    .command('subscribe')
    .description('Print the picks a PhaseStream server rebroadcasts over WebSocket, as they come')
    .argument('<url>', 'the server, e.g. ws://127.0.0.1:8765/ws')
    .option('--network <patterns...>', 'only these networks (? and * wildcards)')
    .option('--station <patterns...>', 'only these stations: NET.STA or NET.STA.LOC (? and *)')
    .option('--phase <phases...>', 'only these phases, e.g. P')
    .option('--min-probability <p>', 'only picks at least this probable', Number)
    .option('--final-only', 'only final picks, without the live edge’s provisional ones and their revisions')
    .option('--since <time>', "first the server's kept picks from this pick time on (ISO 8601)")
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--token-env <name>', 'the environment variable holding the bearer token', 'PHASESTREAM_WS_TOKEN')
    .action(async (url: string, opts: SubscribeOptions) => {
      if (!/^wss?:\/\//.test(url)) {
        throw new UsageError(`'${url}' is not a WebSocket URL`, { hint: 'e.g. ws://127.0.0.1:8765/ws' });
      }
      if (opts.format !== 'jsonl' && opts.format !== 'csv') {
        throw new UsageError(`--format ${opts.format}: expected jsonl or csv`);
      }
      if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) {
        throw new UsageError(`--since '${opts.since}' is not a time`, { hint: 'e.g. 2024-01-01T00:00:00Z' });
      }
      // Checked here by the server's own schema: a filter the server would refuse is a usage error now.
      const parsed = pickFilterSchema.safeParse({
        networks: opts.network,
        stations: opts.station,
        phases: opts.phase,
        minProbability: opts.minProbability,
        ...(opts.finalOnly && { statuses: ['final' as const] }),
      });
      if (!parsed.success) {
        throw new UsageError(`the filter does not fit: ${describeFilterError(parsed.error)}`, {
          hint: '--min-probability takes a number from 0 to 1, e.g. 0.5',
        });
      }
      await subscribe(url, parsed.data, opts);
    });
}

/**
 * Subscribes, prints picks, and (re)connects with backoff while the server cannot be reached or the
 * connection drops, resuming after the last sequence number seen so that the server's history fills
 * the hole. Only a refusal (401, or an error message for the request) ends it, or SIGINT/SIGTERM,
 * at once, even while it waits to reconnect.
 */
async function subscribe(url: string, filter: PickFilter, opts: SubscribeOptions): Promise<void> {
  const token = process.env[opts.tokenEnv];
  const format = opts.format as PickFormat;
  if (format === 'csv') process.stdout.write(`${PICK_COLUMNS.join(',')}\n`);
  let lastSeq: number | undefined;
  let retryMs = 500;
  let stopping = false;
  let current: WebSocket | undefined;
  let wakeUp = () => {};
  let refusal: string | undefined;
  const onSignal = () => {
    stopping = true;
    current?.close(1000);
    wakeUp();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!stopping) {
    const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    current = ws;
    const outcome = await new Promise<'closed' | 'refused' | 'failed'>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        resolve(res.statusCode === 401 ? 'refused' : 'failed');
      });
      ws.on('error', () => resolve('failed'));
      ws.on('open', () => {
        retryMs = 500;
        ws.send(
          JSON.stringify({
            v: 1,
            type: 'subscribe',
            streams: ['picks'],
            filter,
            ...(lastSeq !== undefined
              ? { afterSeq: lastSeq }
              : opts.since
                ? { since: new Date(opts.since).toISOString() }
                : {}),
          }),
        );
      });
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as ServerMessage;
        if (message.type === 'pick') {
          lastSeq = message.seq;
          process.stdout.write(formatPick(message.pick, format));
        } else if (message.type === 'gap') {
          log.warn({ ...message }, 'picks were missed (gap notice from the server)');
        } else if (message.type === 'subscribed' && message.replay === 0) {
          // Nothing to replay: a reconnect resumes from the stream's position now.
          lastSeq ??= message.seq;
        } else if (message.type === 'error') {
          refusal = `${message.error}: ${message.message}`;
          ws.close(1000);
        }
      });
      ws.on('close', () => resolve('closed'));
    });
    if (stopping) break;
    if (refusal !== undefined) {
      throw new SubscribeError(`${url} refused the request (${refusal})`, {
        hint: 'check the filter options against `phasestream subscribe --help`',
      });
    }
    if (outcome === 'refused') {
      throw new SubscribeError(`${url} refused the subscription (401: no valid token)`, {
        hint: `put the server's token in ${opts.tokenEnv} (or name another variable with --token-env)`,
      });
    }
    log.warn(
      { url, retryInMs: retryMs },
      outcome === 'failed' ? 'cannot reach the server; retrying' : 'connection lost; reconnecting',
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }
}
