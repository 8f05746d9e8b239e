import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultShards, shardFiles, stationCount } from '../../src/app/replay-shards.ts';
import { WindowGate } from '../../src/app/window-gate.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';

const exampleDir = join(repoRoot, 'examples/synthetic');
const files = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.mseed'))
  .map((f) => join(exampleDir, f));

interface PickLine {
  station: string;
  id: string;
}

const picksOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PickLine);

t.test('stations go whole to a shard, the shards balanced by bytes', async (t) => {
  const groups = await shardFiles(files, 2);
  t.equal(groups.length, 2);
  t.same(groups.flat().sort(), [...files].sort(), 'every file once');
  for (const group of groups) {
    const stations = new Set(group.map((f) => f.split('/').at(-1)!.split('.').slice(0, 2).join('.')));
    t.equal(group.length, 3 * stations.size, "a station's three components stay together");
    t.equal(stations.size, 2, 'two stations of equal size each');
  }
  t.equal((await shardFiles(files, 9)).length, 4, 'no more shards than stations');
  t.equal(await stationCount(files), 4, 'stations by their records: four');
  t.equal(defaultShards(16, 2, false, false), 2, '16 stations on two cores: two shards');
  t.equal(defaultShards(4, 2, false, false), 1, 'four stations: one thread, picks in time order');
  t.equal(defaultShards(16, 2, true, false), 1, 'a paced replay stays in one thread');
  t.equal(defaultShards(16, 2, false, true), 1, 'so does one with the page');
});

t.test('the window gate holds the reader while the picker is behind', async (t) => {
  const gate = new WindowGate(64);
  t.equal(gate.ready(), undefined, 'nothing pending: no wait');
  gate.setPending(65);
  let released = false;
  const wait = gate.ready()!.then(() => {
    released = true;
  });
  await new Promise((r) => setImmediate(r));
  t.notOk(released, 'held while more than 64 windows wait');
  gate.setPending(64);
  await wait;
  t.ok(released, 'released once the picker caught up');
});

t.test('a replay sharded over two threads gives the picks of one thread', async (t) => {
  const [one, two] = await Promise.all([
    runCli(['replay', '--shards', '1', ...files], { env: { PHASESTREAM_LOG_LEVEL: 'info' } }),
    runCli(['replay', '--shards', '2', ...files], { env: { PHASESTREAM_LOG_LEVEL: 'info' } }),
  ]);
  t.equal(one.code, 0, one.stderr);
  t.equal(two.code, 0, two.stderr);
  const single = picksOf(one.stdout);
  const sharded = picksOf(two.stdout);
  t.ok(single.length > 20, `picks were made (${single.length})`);
  t.same(sharded.map((p) => p.id).sort(), single.map((p) => p.id).sort(), 'the same picks, each once');
  for (const station of new Set(single.map((p) => p.station))) {
    t.same(
      sharded.filter((p) => p.station === station),
      single.filter((p) => p.station === station),
      `${station}: the same picks in the same order`,
    );
  }
  // On the CPU each shard has an inference session of its own, and each ran batches.
  const doneOf = (stderr: string) =>
    stderr
      .split('\n')
      .filter((line) => line.includes('"replay done"'))
      .map((line) => JSON.parse(line) as { inferenceBusyS: number[]; cpuS: number; seconds: number })[0];
  t.equal(doneOf(one.stderr).inferenceBusyS.length, 1, 'one shard: one session');
  const { inferenceBusyS: busy, cpuS, seconds } = doneOf(two.stderr);
  t.equal(busy.length, 2, 'two shards: two sessions');
  t.ok(
    busy.every((s) => s > 0),
    `both sessions were busy (${busy.join(', ')} s)`,
  );
  // The CPU time is the whole process's over the replay, in seconds: the shards' decoding and windows
  // beside the sessions' inference, so more than the sessions' busy time alone, and no more than
  // every core for the replay's seconds.
  const busyS = busy.reduce((sum, s) => sum + s, 0);
  t.ok(cpuS > busyS, `the CPU time (${cpuS} s) is more than the sessions' busy time (${busyS} s)`);
  t.ok(
    cpuS <= seconds * availableParallelism() + 0.2,
    `the CPU time (${cpuS} s) is at most every core over the replay's ${seconds} s`,
  );
});
