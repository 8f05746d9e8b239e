import { SingleBar } from 'cli-progress';

/**
 * Progress of a long replay on a terminal (stderr), and nothing when stderr is piped or in CI, so
 * that logs and redirected output stay clean.
 */
export interface Progress {
  advance(amount: number, picks: number): void;
  stop(): void;
}

export function replayProgress(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI) return { advance() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: 'replay |{bar}| {percentage}% | {picks} picks | {eta_formatted} left',
    hideCursor: true,
  });
  bar.start(total, 0, { picks: 0 });
  let done = 0;
  return {
    advance(amount, picks) {
      done += amount;
      bar.update(Math.min(done, total), { picks });
    },
    stop() {
      bar.stop();
    },
  };
}
