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

/** Progress of a training epoch: batches done, the last loss and the throughput in windows/s. */
export interface TrainProgress {
  batch(info: { epoch: number; step: number; steps: number; loss: number; windowsPerSecond: number }): void;
  stop(): void;
}

export function trainProgress(stream: NodeJS.WriteStream = process.stderr): TrainProgress {
  if (!stream.isTTY || process.env.CI) return { batch() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format:
      'epoch {epoch} |{bar}| {value}/{total} batches | loss {loss} | {speed} windows/s | {eta_formatted} left',
    hideCursor: true,
  });
  let epoch = -1;
  return {
    batch({ epoch: e, step, steps, loss, windowsPerSecond }) {
      const payload = { epoch: e + 1, loss: loss.toFixed(4), speed: windowsPerSecond.toFixed(1) };
      if (e !== epoch) {
        if (epoch >= 0) bar.stop();
        epoch = e;
        bar.start(steps, 0, payload);
      }
      bar.update(step, payload);
    },
    stop() {
      if (epoch >= 0) bar.stop();
    },
  };
}
