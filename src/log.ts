import { pino } from 'pino';

/**
 * The structured logger. JSON lines on stderr, so that stdout stays free for picks and tables;
 * the level comes from PHASESTREAM_LOG_LEVEL (default `info`; tests set `silent`).
 */
export const log = pino(
  { name: 'phasestream', level: process.env.PHASESTREAM_LOG_LEVEL ?? 'info' },
  pino.destination(2),
);

export type Logger = typeof log;
