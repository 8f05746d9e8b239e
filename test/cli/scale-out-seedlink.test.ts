import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';
import { NatsServer, skipUnlessNatsServer } from '../helpers/nats-server.ts';
import { faultRandom, roleStarter, scaleConfig, stopRole, untilLogged } from '../helpers/scale-out.ts';
import { startSeedLinkServerProcess } from '../helpers/seedlink/serve-process.ts';
import { loadRecordFiles } from '../helpers/seedlink/server.ts';
import { freePort } from '../helpers/seedlink-server.ts';

/**
 * The live source of the scale-out: `phasestream ingest` with no files takes the config's SeedLink
 * servers (the strict test server, in a process of its own, feeding the four example stations at
 * x20) into the log; it is SIGKILLed at a random moment and started again, resuming from its state
 * file. One worker and the sink downstream. A live feed has no end, so the last two windows of each
 * station stay open: every replay pick before them must be in the pick file, and nothing else.
 */

const files = ['SYN01', 'SYN02', 'SYN03', 'SYN04'].flatMap((s) =>
  ['HHE', 'HHN', 'HHZ'].map((c) => join(repoRoot, 'examples', 'synthetic', `SY.${s}.00.${c}.mseed`)),
);
const SPEED = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

t.test(
  'SeedLink into the log, the ingest killed and restarted: the picks are the replay picks',
  { skip: skipUnlessNatsServer() },
  async (t) => {
    const dir = t.testdir();
    const replayOut = join(dir, 'replay.jsonl');
    const replay = await runCli(['replay', ...files, '--output', replayOut]);
    t.equal(replay.code, 0, replay.stderr);
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
    t.comment(`fault seed ${seed} (FAULT_SEED=${seed} repeats it)`);
    const random = faultRandom(seed);

    const spans = (await loadRecordFiles(files)).map(readRecordSpan);
    const firstUs = Math.min(...spans.map((s) => s.startTimeUs));
    const lastEndUs = Math.max(...spans.map((s) => s.endTimeUs));
    // Picks of the last 2 windows and the peak distance (and a margin) stay open in a live feed.
    const openFromUs = lastEndUs - 70e6;
    const expected = lines(replayOut).sort();
    const closed = expected.filter((l) => Date.parse(JSON.parse(l).time) * 1000 < openFromUs);
    t.ok(
      closed.length >= 20,
      `${closed.length} of the replay's ${expected.length} picks are before the open tail`,
    );

    const nats = await NatsServer.create();
    t.teardown(() => nats.destroy());
    await nats.start();
    const port = await freePort();
    const config = scaleConfig(dir, nats.url, 3);
    const stateFile = join(dir, 'ingest.state.json');
    writeFileSync(
      config,
      `${readFileSync(config, 'utf8')}seedlink:\n  - url: tcp://127.0.0.1:${port}\n    stations: [SY.SYN01, SY.SYN02, SY.SYN03, SY.SYN04]\n    stateFile: ${JSON.stringify(stateFile)}\n    start: ${new Date(firstUs / 1000).toISOString()}\n`,
    );
    const output = join(dir, 'sink.jsonl');
    const start = roleStarter(t);
    const sink = start(['sink', '--config', config, '--output', output]);
    const worker = start(['pick', '--config', config]);
    let ingest = start(['ingest', '--config', config]);
    await untilLogged(worker, /pick worker started/);
    await untilLogged(ingest, /ingest started/);
    const originMs = Date.now() + 1000;
    const { child: server } = await startSeedLinkServerProcess(port, originMs, SPEED, files);
    t.teardown(() => {
      server.kill('SIGKILL');
    });
    const feedMs = (lastEndUs - firstUs) / 1000 / SPEED;
    await sleep(Math.max(0, originMs + (0.2 + 0.6 * random()) * feedMs - Date.now()));
    await stopRole(ingest, 'SIGKILL');
    t.comment(
      `ingest SIGKILLed ${Math.round(Date.now() - originMs)} ms into a ${Math.round(feedMs)} ms feed, started again`,
    );
    ingest = start(['ingest', '--config', config]);

    const written = () => lines(output);
    const deadline = originMs + feedMs + 90_000;
    const has = new Set<string>();
    while (Date.now() < deadline) {
      for (const line of written()) has.add(line);
      if (closed.every((l) => has.has(l))) break;
      await sleep(500);
    }
    await sleep(2000); // anything that would come twice comes now
    await untilLogged(ingest, /ingest started/);
    const ingestCode = await stopRole(ingest);
    t.equal(ingestCode, 0, 'the ingest stops cleanly', {
      log: ingestCode === 0 ? undefined : ingest.lines.slice(-6),
    });
    t.equal(await stopRole(worker), 0, 'the worker stops cleanly');
    t.equal(await stopRole(sink), 0, 'the sink stops cleanly');
    const got = written();
    const ids = got.map((l) => `${JSON.parse(l).id} ${JSON.parse(l).status}`);
    const lost = closed.filter((l) => !got.includes(l));
    const extra = got.filter((l) => !expected.includes(l));
    t.comment(
      `${got.length} written, ${closed.length} closed picks in the replay, ${lost.length} lost, ${extra.length} not in the replay`,
    );
    t.equal(ids.length - new Set(ids).size, 0, 'no pick written twice');
    t.same(lost, [], 'no pick lost');
    t.same(extra, [], 'no pick the replay does not make');
  },
);
