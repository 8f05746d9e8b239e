import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import t from 'tap';
import { endSubject, partitionOf } from '../../src/scale/subjects.ts';
import { runCli } from '../helpers/cli.ts';
import { NatsServer, skipUnlessNatsServer } from '../helpers/nats-server.ts';
import {
  eightStations,
  faultRandom,
  type RoleProcess,
  roleStarter,
  scaleConfig,
  stopRole,
  untilLogged,
} from '../helpers/scale-out.ts';

/**
 * The fault test of the scale-out (real processes, a real nats-server): one `phasestream ingest`
 * replays eight stations into the log at x8, three `phasestream pick` workers share six partitions,
 * one `phasestream sink` writes the pick file. At random moments of the feed one worker is SIGKILLed
 * (and a new one started), the sink is SIGKILLed and started again, and nats-server is SIGKILLed and
 * started again on the same store. The pick file must be exactly what `phasestream replay` gives for
 * the same data: no pick lost, none twice, the same times and probabilities.
 */

const SPEED = 8;
const PARTITIONS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

/** True once every partition the ingest ended has its end mark behind its resume point, and the sink read all. */
async function allPicked(server: string, config: { records: string; picks: string }): Promise<boolean> {
  const nc = await connect({ servers: server, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const resume = await new Kvm(nc).open('ps-resume');
    for (let p = 0; p < PARTITIONS; p++) {
      const end = await jsm.streams
        .getMessage(config.records, { last_by_subj: endSubject(p) })
        .catch(() => null);
      if (!end) continue;
      const entry = await resume.get(`p.${p}`);
      const startSeq = entry?.operation === 'PUT' ? JSON.parse(entry.string()).startSeq : 0;
      if (!(startSeq > end.seq)) return false;
    }
    const sink = await jsm.consumers.info(config.picks, 'ps-sink');
    return sink.num_pending === 0 && sink.num_ack_pending === 0;
  } finally {
    await nc.close();
  }
}

/** Whether one of `partitions` has a resume point that names stations (what a takeover resumes). */
async function storedPoints(server: string, partitions: number[]): Promise<boolean> {
  const nc = await connect({ servers: server, reconnect: false });
  try {
    const resume = await new Kvm(nc).open('ps-resume');
    for (const p of partitions) {
      const entry = await resume.get(`p.${p}`);
      if (entry?.operation !== 'PUT') continue;
      if (Object.keys(JSON.parse(entry.string()).stations ?? {}).length > 0) return true;
    }
    return false;
  } finally {
    await nc.close();
  }
}

/** The partitions a worker holds now, from its log (taken, less released or lost). */
function heldPartitions(worker: RoleProcess): number[] {
  const held = new Set<number>();
  for (const line of worker.lines) {
    if (!line.includes('"module":"leases"')) continue;
    const { partition, msg } = JSON.parse(line);
    if (msg === 'partition taken') held.add(partition);
    else held.delete(partition);
  }
  return [...held];
}

t.test(
  'workers and the server killed at random moments: the sink writes exactly the replay picks',
  { skip: skipUnlessNatsServer() },
  async (t) => {
    const dir = t.testdir();
    const files = eightStations(dir);
    const replayOut = join(dir, 'replay.jsonl');
    const replay = await runCli(['replay', ...files, '--output', replayOut]);
    t.equal(replay.code, 0, replay.stderr);
    const expected = lines(replayOut).sort();
    t.ok(expected.length >= 40, `the replay picks ${expected.length} phases`);

    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
    t.comment(`fault seed ${seed} (FAULT_SEED=${seed} repeats it)`);
    const random = faultRandom(seed);

    const nats = await NatsServer.create();
    t.teardown(() => nats.destroy());
    await nats.start();
    const config = scaleConfig(dir, nats.url, PARTITIONS);
    const output = join(dir, 'sink.jsonl');
    const start = roleStarter(t);
    let sink = start(['sink', '--config', config, '--output', output]);
    const pick = () => start(['pick', '--config', config, '--http', '0']);
    const workers = [0, 1, 2].map(pick);
    for (const worker of workers) await untilLogged(worker, /pick worker started/);

    const withData = new Set(
      ['SY', 'SZ'].flatMap((n) =>
        ['SYN01', 'SYN02', 'SYN03', 'SYN04'].map((s) => partitionOf(n, s, PARTITIONS)),
      ),
    );
    const feedMs = (240 * 1000) / SPEED;
    const startedAt = Date.now();
    const ingest = start(['ingest', '--config', config, '--speed', String(SPEED), ...files]);
    const faults = [
      { at: (0.15 + 0.6 * random()) * feedMs, what: 'worker' as const },
      { at: (0.15 + 0.6 * random()) * feedMs, what: 'server' as const },
      { at: (0.15 + 0.6 * random()) * feedMs, what: 'sink' as const },
    ].sort((a, b) => a.at - b.at);
    for (const fault of faults) {
      await sleep(Math.max(0, startedAt + fault.at - Date.now()));
      if (fault.what === 'worker') {
        // The worker holding the most partitions with data, so that a takeover must resume them.
        const held = workers.map((w) => heldPartitions(w).filter((p) => withData.has(p)));
        const most = Math.max(...held.map((h) => h.length));
        const candidates = workers.map((_, i) => i).filter((i) => held[i].length === most);
        const victim = candidates[Math.floor(random() * candidates.length)];
        // The takeover must resume from a stored point, so the kill waits (20 s at most) until the
        // victim has stored one: on a loaded machine the random moment can come before the first.
        const waitFrom = Date.now();
        const storedBy = waitFrom + 20_000;
        while (!(await storedPoints(nats.url, held[victim]).catch(() => false)) && Date.now() < storedBy)
          await sleep(200);
        await stopRole(workers[victim], 'SIGKILL');
        t.comment(
          `${Math.round(fault.at)} ms: worker ${victim} (partitions ${held[victim].join(', ')}) SIGKILLed ${Date.now() - waitFrom} ms later, once it had stored a resume point; another started`,
        );
        workers[victim] = pick();
      } else if (fault.what === 'sink') {
        await stopRole(sink, 'SIGKILL');
        sink = start(['sink', '--config', config, '--output', output]);
        t.comment(`${Math.round(fault.at)} ms: the sink SIGKILLed and started again`);
      } else {
        await nats.kill();
        const downMs = 200 + Math.round(random() * 800);
        await sleep(downMs);
        await nats.start();
        t.comment(`${Math.round(fault.at)} ms: nats-server SIGKILLed, back after ${downMs} ms`);
      }
    }
    // The consumer lag on the workers' /metrics, per partition each holds. Right after a kill the
    // partitions may be between owners (the leases expire after leaseTtlS), so it is read until a
    // worker reports one or twice the lease time has passed.
    const lagSeries = async () => {
      let series = 0;
      for (const worker of workers) {
        const at = worker.lines.map((l) => /^metrics: (\S+)/.exec(l)?.[1]).find(Boolean);
        const text = at
          ? await fetch(at)
              .then((r) => r.text())
              .catch(() => '')
          : '';
        series += (
          text.match(/^phasestream_jetstream_pending_messages\{consumer="partition-\d+"\} \d+$/gm) ?? []
        ).length;
      }
      return series;
    };
    const lagDeadline = Date.now() + 10_000;
    let lagLines = await lagSeries();
    while (lagLines === 0 && Date.now() < lagDeadline) {
      await sleep(500);
      lagLines = await lagSeries();
    }
    t.ok(lagLines > 0, `the workers report their partitions' lag on /metrics (${lagLines} series)`);
    t.equal(await ingest.exited, 0, 'the ingest published every record and exits cleanly');

    const deadline = Date.now() + 90_000;
    const records = { records: 'ps-records', picks: 'ps-picks' };
    while (!(await allPicked(nats.url, records).catch(() => false)) && Date.now() < deadline)
      await sleep(500);
    t.ok(
      await allPicked(nats.url, records),
      'every partition picked to its end mark, and the sink read every pick',
    );
    t.comment(`end to end in ${Math.round((Date.now() - startedAt) / 1000)} s`);
    for (const worker of workers) {
      await untilLogged(worker, /pick worker started/); // the replacement too: it joined the group
      const code = await stopRole(worker);
      t.equal(code, 0, 'a worker stops cleanly', { log: code === 0 ? undefined : worker.lines.slice(-8) });
    }
    t.equal(await stopRole(sink), 0, 'the sink stops cleanly');
    const takeovers = workers
      .flatMap((w) => w.lines)
      .filter((l) => /reading from the resume point/.test(l) && !/"stations":0/.test(l)).length;
    t.ok(takeovers > 0, `partitions taken over from a resume point: ${takeovers}`);

    const written = lines(output);
    const ids = written.map((l) => `${JSON.parse(l).id} ${JSON.parse(l).status}`);
    const duplicated = ids.length - new Set(ids).size;
    const got = [...new Set(written)].sort();
    const lost = expected.filter((l) => !got.includes(l));
    const extra = got.filter((l) => !expected.includes(l));
    t.comment(
      `${written.length} written, ${expected.length} in the replay, ${lost.length} lost, ${duplicated} duplicated, ${extra.length} not in the replay`,
    );
    t.equal(duplicated, 0, 'no pick written twice');
    t.same(lost, [], 'no pick lost');
    t.same(extra, [], 'no pick the replay does not make (times and probabilities equal)');
  },
);
