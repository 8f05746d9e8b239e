import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cliEntry, runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { loadRecordFiles, RecordFeed, SeedLinkRing, SeedLinkServer } from '../helpers/seedlink/server.ts';
import { silentLogger } from '../helpers/seedlink-server.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const devFiles = ['HHE', 'HHN', 'HHZ'].map((c) =>
  sharedPath('data', 'continuous-dev', `XX.DEV1.00.${c}.mseed`),
);
const skip = skipUnlessShared('data', 'continuous-dev') || skipUnlessShared('models', 'phasenet-original');

function startRun(config: string, output: string): ChildProcess {
  return spawn(process.execPath, [...cliEntry, 'run', '--config', config, '--output', output], {
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Waits until the client's state file says it has received sequence `last` of XX_DEV1. */
async function waitForSequence(stateFile: string, last: bigint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(stateFile)) {
      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      if (BigInt(state.stations?.XX_DEV1?.sequence ?? -1) >= last) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the client did not reach sequence ${last} within ${timeoutMs} ms`);
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((r) => {
    child.once('exit', (code) => r(code));
    child.kill('SIGTERM');
  });

t.test('live picking over SeedLink gives the picks of the replay', { skip }, async (t) => {
  const model = await originalModelDir();
  const dir = t.testdir();
  const replayOut = join(dir, 'replay.jsonl');
  const replay = await runCli(['replay', ...devFiles, '--model', model, '--output', replayOut]);
  t.equal(replay.code, 0, replay.stderr);
  const replayPicks = readFileSync(replayOut, 'utf8');

  const records = await loadRecordFiles(devFiles);

  for (const [transport, protocol] of [
    ['tcp', '4.0'],
    ['ws', '3.1'],
  ] as const) {
    // A live server: SeedLink gives a new client the data that comes after it connects.
    const ring = new SeedLinkRing({ capacityPerStation: 100_000 });
    ring.declareStation('XX', 'DEV1');
    const server = new SeedLinkServer({ ring, logger: silentLogger });
    await server.start();
    t.teardown(() => server.stop());
    const stateFile = join(dir, `${transport}.state.json`);
    const config = join(dir, `${transport}.yaml`);
    const url = transport === 'tcp' ? server.tcpUrl : server.wsUrl;
    writeFileSync(
      config,
      `model: { dir: ${JSON.stringify(model)} }\nseedlink:\n  - url: ${url}\n    stations: [XX.DEV1]\n    protocol: '${protocol}'\n    stateFile: ${JSON.stringify(stateFile)}\n`,
    );
    const output = join(dir, `${transport}.jsonl`);
    const child = startRun(config, output);
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    while (server.streamingCount === 0) await new Promise((r) => setTimeout(r, 50));
    const feed = new RecordFeed(ring, records, { intervalMs: 0.5 }).start();
    // Halfway, the server dies and comes back: the client resumes from its sequence, losing nothing.
    while (feed.produced < records.length / 2) await new Promise((r) => setTimeout(r, 20));
    await server.kill();
    await new Promise((r) => setTimeout(r, 500));
    await server.start();
    await feed.done;
    await waitForSequence(stateFile, ring.nextSequence('XX_DEV1') - 1n, 60_000);
    t.equal(await stop(child), 0, stderr);
    // With the live edge on (the default), the file holds each pick's life; its final picks are the
    // replay's, and every provisional pick ends once: final under its id, revised or retracted.
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    t.equal(
      `${lines.filter((l) => l.includes('"status":"final"')).join('\n')}\n`,
      replayPicks,
      `${transport} v${protocol}: the same final picks, in the same order`,
    );
    const picks = lines.map((l) => JSON.parse(l));
    const lives = new Map<string, string[]>();
    for (const p of picks) lives.set(p.id, [...(lives.get(p.id) ?? []), p.status]);
    const odd = [...lives].filter(
      ([, steps]) => steps.includes('provisional') && (steps.length !== 2 || steps[0] !== 'provisional'),
    );
    t.same(odd, [], 'every provisional pick ends exactly once');
  }
});
