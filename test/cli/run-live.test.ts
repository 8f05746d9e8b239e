import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import { cliEntry, repoRoot, runCli } from '../helpers/cli.ts';
import { loadRecordFiles, RecordFeed, SeedLinkRing, SeedLinkServer } from '../helpers/seedlink/server.ts';
import { freePort, silentLogger } from '../helpers/seedlink-server.ts';

const files = ['SYN01', 'SYN02'].flatMap((s) =>
  ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, 'examples', 'synthetic', `SY.${s}.00.${c}.mseed`)),
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [...cliEntry, 'run', ...args], {
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return { child, stderr: () => stderr };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((r) => {
    child.once('exit', (code) => r(code));
    child.kill('SIGTERM');
  });

t.test(
  'backfill: --start fetches what the ring already holds, and picks it as the replay does',
  async (t) => {
    const dir = t.testdir();
    const replayOut = join(dir, 'replay.jsonl');
    const replay = await runCli(['replay', ...files, '--output', replayOut]);
    t.equal(replay.code, 0, replay.stderr);

    // Everything is in the ring before the client comes: without a start it would get nothing.
    const records = await loadRecordFiles(files);
    const ring = new SeedLinkRing();
    await new RecordFeed(ring, records).start().done;
    const server = new SeedLinkServer({ ring, logger: silentLogger });
    await server.start();
    t.teardown(() => server.kill());
    const stateFile = join(dir, 'state.json');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      `seedlink:\n  - url: ${server.tcpUrl}\n    stations: [SY.SYN01, SY.SYN02]\n    stateFile: ${JSON.stringify(stateFile)}\n`,
    );
    const output = join(dir, 'live.jsonl');
    const start = new Date(readRecordSpan(records[0]).startTimeUs / 1000).toISOString();
    const { child, stderr } = run(['--config', config, '--output', output, '--start', start]);
    t.teardown(() => child.kill('SIGKILL'));
    const last = new Map(
      records.map((r) => readRecordSpan(r)).map((s) => [`${s.network}_${s.station}`, s.startTimeUs]),
    );
    const received = () => {
      if (!existsSync(stateFile)) return false;
      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      return [...last].every(([key, at]) => state.stations[key]?.lastStartTimeUs === at);
    };
    for (let i = 0; i < 300 && !received(); i++) await sleep(100);
    t.ok(received(), 'the whole ring arrived');
    t.equal(await stop(child), 0, stderr());
    const sorted = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).sort();
    // The live edge's provisional picks come beside the final ones, which are the replay's.
    const finals = sorted(output).filter((line) => JSON.parse(line).status === 'final');
    t.same(finals, sorted(replayOut), 'the final picks are the picks of the replay');
  },
);

t.test(
  'a server that refuses connections: /healthz degraded with the reason, /metrics says so',
  async (t) => {
    const dir = t.testdir();
    const httpPort = await freePort();
    const refused = await freePort();
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'seedlink:',
        `  - url: tcp://127.0.0.1:${refused}`,
        '    stations: [XX.DEV1]',
        '    silentAfterS: 1',
        'sinks:',
        `  http: { port: ${httpPort} }`,
        '',
      ].join('\n'),
    );
    const { child, stderr } = run(['--config', config, '--output', join(dir, 'picks.jsonl')]);
    t.teardown(() => child.kill('SIGKILL'));
    let health: { status: number; body: { status: string; problems: string[] } } | undefined;
    for (let i = 0; i < 200; i++) {
      await sleep(100);
      const response = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined);
      if (!response) continue;
      health = { status: response.status, body: await response.json() };
      if (health.body.problems.some((p) => p.includes('silent'))) break;
    }
    t.equal(health?.status, 503);
    t.match(health?.body, {
      status: 'degraded',
      problems: [
        new RegExp(`SeedLink tcp://127.0.0.1:${refused} is (connecting|disconnected).*ECONNREFUSED`),
        'station XX.DEV1 is silent',
      ],
    });
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    t.match(metrics, `phasestream_seedlink_connected{server="tcp://127.0.0.1:${refused}"} 0`);
    t.match(metrics, 'phasestream_station_silent{station="XX.DEV1"} 1');
    t.equal(await stop(child), 0);
    const log = stderr();
    t.equal(log.match(/station has sent nothing yet/g)?.length, 1, 'the silence logged once');
    t.match(log, /SeedLink connection lost, reconnecting/);
    t.notMatch(log, /"stack"/, 'no stack traces in the reconnect warnings');
  },
);
