import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import { cliEntry, repoRoot, runCli } from '../helpers/cli.ts';
import { startSeedLinkServerProcess } from '../helpers/seedlink/serve-process.ts';
import { loadRecordFiles } from '../helpers/seedlink/server.ts';
import { freePort } from '../helpers/seedlink-server.ts';
import { lcg } from '../stream/marbles.ts';

/**
 * The fault test of live picking (real processes, real sockets): the strict test server streams the
 * four stations of examples/synthetic at x20 from a process of its own; `phasestream run` is killed
 * with SIGKILL at five random moments and started again, the server is killed twice and started again
 * (with the same ring, as ringserver keeps its ring on disk). What the run wrote, all its lives
 * together, must be exactly what `phasestream replay` gives for the same data: no pick lost, none
 * twice, the same times and probabilities. Over TCP and WebSocket, SeedLink 3.1 and 4.0.
 */

const files = ['SYN01', 'SYN02', 'SYN03', 'SYN04'].flatMap((s) =>
  ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, 'examples', 'synthetic', `SY.${s}.00.${c}.mseed`)),
);
const SPEED = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startRun(config: string, output: string): ChildProcess {
  return spawn(process.execPath, [...cliEntry, 'run', '--config', config, '--output', output], {
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const kill = (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') =>
  new Promise<number | null>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r(child.exitCode);
    child.once('exit', (code) => r(code));
    child.kill(signal);
  });

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

t.test('killed and restarted at random moments, live picking writes exactly the replay picks', async (t) => {
  const dir = t.testdir();
  const replayOut = join(dir, 'replay.jsonl');
  const replay = await runCli(['replay', ...files, '--output', replayOut]);
  t.equal(replay.code, 0, replay.stderr);
  const expected = lines(replayOut).sort();
  t.ok(expected.length >= 20, `the replay picks ${expected.length} phases`);

  const records = await loadRecordFiles(files);
  const spans = records.map(readRecordSpan);
  const feedMs = (spans.at(-1)!.endTimeUs - spans[0].endTimeUs) / 1000 / SPEED;
  const lastStart = new Map(spans.map((s) => [`${s.network}_${s.station}`, s.startTimeUs]));
  const dataStart = new Date(Math.min(...spans.map((s) => s.startTimeUs)) / 1000).toISOString();
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
  t.comment(`schedule seed ${seed} (FAULT_SEED=${seed} repeats it)`);
  const random = lcg(seed);
  const recoveries: string[] = [];

  for (const [transport, protocol] of [
    ['tcp', '3.1'],
    ['tcp', '4.0'],
    ['ws', '3.1'],
    ['ws', '4.0'],
  ] as const) {
    const name = `${transport} ${protocol}`;
    const port = await freePort();
    const originMs = Date.now() + 2500;
    let server = await startSeedLinkServerProcess(port, originMs, SPEED, files);
    const url = transport === 'tcp' ? `tcp://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/seedlink`;
    const stateFile = join(dir, `${transport}-${protocol}.state.json`);
    const config = join(dir, `${transport}-${protocol}.yaml`);
    writeFileSync(
      config,
      [
        'seedlink:',
        `  - url: ${url}`,
        '    stations: [SY.SYN01, SY.SYN02, SY.SYN03, SY.SYN04]',
        `    protocol: '${protocol}'`,
        `    stateFile: ${JSON.stringify(stateFile)}`,
        `    start: ${dataStart}`,
        '',
      ].join('\n'),
    );
    const output = join(dir, `${transport}-${protocol}.jsonl`);
    let run = startRun(config, output);

    // Five kills of the run and two of the server, at random moments of the feed.
    const faults = [
      ...Array.from({ length: 5 }, () => ({ at: originMs + random() * feedMs, what: 'run' as const })),
      ...Array.from({ length: 2 }, () => ({ at: originMs + random() * feedMs, what: 'server' as const })),
    ].sort((a, b) => a.at - b.at);
    for (const fault of faults) {
      await sleep(Math.max(0, fault.at - Date.now()));
      if (fault.what === 'run') {
        await kill(run);
        run = startRun(config, output);
      } else {
        await kill(server.child);
        await sleep(200 + random() * 800);
        server = await startSeedLinkServerProcess(port, originMs, SPEED, files);
        const listening = server.events[0].at;
        const back = server;
        void (async () => {
          const gone = () => back.child.exitCode !== null || back.child.signalCode !== null;
          while (!back.events.some((e) => e.event === 'first-packet')) {
            // Killed again before a client came back: nothing to measure (and nothing to keep the test alive).
            if (gone()) return;
            await sleep(20);
          }
          const at = (event: string) => back.events.find((e) => e.event === event)!.at - listening;
          recoveries.push(
            `${at('streaming')} ms to the handshake, ${at('first-packet')} ms to the first packet`,
          );
        })();
      }
    }

    // Every packet received (the state file's last packet of each station is the last record's), then
    // SIGTERM: the run flushes the stations and writes the last picks.
    const deadline = originMs + feedMs + 60_000;
    const received = () => {
      if (!existsSync(stateFile)) return false;
      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      return [...lastStart].every(([key, start]) => state.stations[key]?.lastStartTimeUs === start);
    };
    while (!received() && Date.now() < deadline) await sleep(200);
    t.ok(received(), `${name}: every packet arrived`);
    t.equal(await kill(run, 'SIGTERM'), 0, `${name}: the last run stops cleanly`);
    await kill(server.child);

    // Final picks are what a replay gives; the live edge's provisional picks and their ends come beside
    // them (a provisional pick of a run that was killed is never ended: the final pick stands alone).
    const written = lines(output).filter((l) => JSON.parse(l).status === 'final');
    const steps = lines(output).map((l) => `${JSON.parse(l).status} ${JSON.parse(l).id}`);
    t.equal(steps.length, new Set(steps).size, `${name}: no step of a pick's life written twice`);
    const ids = written.map((l) => JSON.parse(l).id as string);
    const duplicated = ids.length - new Set(ids).size;
    const got = [...new Set(written)].sort();
    const lost = expected.filter((l) => !got.includes(l));
    const extra = got.filter((l) => !expected.includes(l));
    t.comment(
      `${name}: ${written.length} written, ${expected.length} in the replay, ${lost.length} lost, ${duplicated} duplicated, ${extra.length} not in the replay`,
    );
    t.equal(duplicated, 0, `${name}: no pick written twice`);
    t.same(lost, [], `${name}: no pick lost`);
    t.same(extra, [], `${name}: no pick the replay does not make (times and probabilities equal)`);
  }
  await sleep(100);
  t.comment(`server back (listening) -> ${recoveries.join('; ')}`);
  t.ok(recoveries.length > 0, 'the recovery time was measured');
});
