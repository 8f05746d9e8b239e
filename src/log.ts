import { Writable } from 'node:stream';
import { pino } from 'pino';

/**
 * The structured logger, on stderr so that stdout stays free for picks and tables; the level comes
 * from PHASESTREAM_LOG_LEVEL (default `info`; tests set `silent`). Piped or redirected, each event is
 * a JSON line for machines; on a terminal (or with PHASESTREAM_LOG_FORMAT=pretty) pino-pretty makes
 * it one readable line, first clearing the line a progress bar may be drawn on (the bar redraws
 * itself below on its next update). PHASESTREAM_LOG_FORMAT=json keeps JSON on a terminal.
 */
export const logFormat = process.env.PHASESTREAM_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
const options = { name: 'phasestream', level: process.env.PHASESTREAM_LOG_LEVEL ?? 'info' };

async function prettyDestination() {
  const { default: pretty } = await import('pino-pretty');
  const clearLine = process.stderr.isTTY ? '\r\x1b[K' : '';
  return pretty({
    singleLine: true,
    colorize: Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined,
    ignore: 'pid,hostname,name',
    translateTime: 'SYS:HH:MM:ss.l',
    sync: true,
    destination: new Writable({
      write(chunk, _encoding, done) {
        process.stderr.write(clearLine + chunk, () => done());
      },
    }),
  });
}

export const log = pino(options, logFormat === 'pretty' ? await prettyDestination() : pino.destination(2));

export type Logger = typeof log;
