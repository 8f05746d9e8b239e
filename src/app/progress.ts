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

/** Progress of a batch of tasks (simulations) on a terminal: done of total and time left. */
export function taskProgress(
  total: number,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): { update(done: number, windows: number): void; stop(): void } {
  if (!stream.isTTY || process.env.CI) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: `${label} |{bar}| {value}/{total} | {windows} windows | {eta_formatted} left`,
    hideCursor: true,
  });
  bar.start(total, 0, { windows: 0 });
  return {
    update(done, windows) {
      bar.update(done, { windows });
    },
    stop() {
      bar.stop();
    },
  };
}
