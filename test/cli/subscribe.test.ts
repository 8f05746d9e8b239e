import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';
import { cliEntry, repoRoot, runCli } from '../helpers/cli.ts';

/** A port nothing listens on: taken from the kernel, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

t.test('a filter the server would refuse is a usage error, before connecting', async (t) => {
  const port = await closedPort();
  for (const value of ['2', 'abc', '-0.1']) {
    const result = await runCli(['subscribe', `ws://127.0.0.1:${port}/ws`, '--min-probability', value]);
    t.equal(result.code, 2, `--min-probability ${value}: ${result.stderr}`);
    t.match(result.stderr, /the filter does not fit: --min-probability: /);
    t.notMatch(result.stderr, /cannot reach the server/, 'no connection tried');
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} ends subscribe at once, even while it waits to reconnect`, async (t) => {
    const port = await closedPort();
    const child = spawn(process.execPath, [...cliEntry, 'subscribe', `ws://127.0.0.1:${port}/ws`], {
      cwd: repoRoot,
      env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    // The fifth retry waits 8 s (backoff 0.5, 1, 2, 4, 8 s): signal right after it is announced.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if ((stderr.match(/cannot reach the server; retrying/g) ?? []).length >= 5) resolve();
      });
    });
    t.match(stderr, /"retryInMs":8000/);
    const sent = performance.now();
    child.kill(signal);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const ms = performance.now() - sent;
    t.equal(code, 0);
    // Well before the backoff would have ended, with room for a loaded machine's start-up of exit.
    t.ok(ms < 5000, `ended ${Math.round(ms)} ms after ${signal} (the backoff had 8000 ms to go)`);
  });
}
