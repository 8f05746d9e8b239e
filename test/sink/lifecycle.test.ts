import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import type { LifecycleInput } from '../../src/picker/lifecycle.ts';
import { makePick, type Pick } from '../../src/picker/pick.ts';
import { pickLifecycle } from '../../src/picker/pick-lifecycle.ts';
import { InfluxSink } from '../../src/sink/influx/influx-sink.ts';
import { PickFile } from '../../src/sink/pick-file.ts';
import { indexFromTimeUs } from '../../src/stream/grid.ts';
import { influxdFor, skipUnlessInfluxd } from '../helpers/influxd.ts';
import { silentLogger, until } from '../helpers/seedlink-server.ts';
import { startBroadcaster, subscriber } from '../helpers/subscriber.ts';

/**
 * Each sink given one life of each kind, as the lifecycle operator makes them: a provisional P the
 * final path confirms (same instant, same id), a provisional S it revises (final 0.1 s later) and a
 * provisional P it retracts (no final pick; the stitched path passes it).
 */
const station = { network: 'XX', station: 'S01', location: '00', channelPrefix: 'HH' };
const baseUs = Date.UTC(2024, 0, 1) * 1000;
const pickAt = (phase: string, seconds: number, probability: number): Pick =>
  makePick(station, phase, indexFromTimeUs(baseUs + seconds * 1e6, 100), 100, probability, 'test-model');
const provisional = (p: Pick): LifecycleInput => ({
  kind: 'provisional',
  pick: { ...p, status: 'provisional' },
});
const final = (p: Pick): LifecycleInput => ({ kind: 'final', pick: p });
const frontier = (seconds: number): LifecycleInput => ({
  kind: 'frontier',
  station: 'XX.S01.00.HH',
  timeUs: baseUs + seconds * 1e6,
});

const confirmedP = pickAt('P', 10, 0.91);
const revisedS = pickAt('S', 12, 0.7);
const finalS = pickAt('S', 12.1, 0.82);
const retractedP = pickAt('P', 40, 0.6);

async function lives(): Promise<Pick[]> {
  const inputs = [
    provisional({ ...confirmedP, probability: 0.66 }),
    provisional(revisedS),
    provisional(retractedP),
    final(confirmedP),
    final(finalS),
    frontier(60),
    frontier(61),
  ];
  return lastValueFrom(from(inputs).pipe(pickLifecycle({ matchToleranceUs: 500_000 }), toArray()));
}

t.test(
  'the lifecycle: provisional, then final under the same id, revised with a link, retracted',
  async (t) => {
    const picks = await lives();
    t.same(
      picks.map((p) => [p.status, p.id, p.finalId]),
      [
        ['provisional', confirmedP.id, undefined],
        ['provisional', revisedS.id, undefined],
        ['provisional', retractedP.id, undefined],
        ['final', confirmedP.id, undefined],
        ['revised', revisedS.id, finalS.id],
        ['final', finalS.id, undefined],
        ['retracted', retractedP.id, undefined],
      ],
    );
    t.same(
      picks.filter((p) => p.status === 'final'),
      [confirmedP, finalS],
      'final picks are the final path’s, untouched',
    );
  },
);

t.test(
  'InfluxDB: the final pick overwrites the provisional point, a revised or retracted one stays, marked',
  { skip: skipUnlessInfluxd() },
  async (t) => {
    const influxd = await influxdFor(t);
    const sink = InfluxSink.open({
      url: influxd.url,
      database: 'phasestream',
      retentionPolicy: { name: 'picks', duration: 'INF', replication: 1 },
      batchSize: 1,
      flushIntervalMs: 20,
      retryInitialMs: 50,
      retryMaxMs: 300,
      requestTimeoutMs: 2000,
      spool: { dir: t.testdir(), maxBytes: 1 << 20 },
      logger: silentLogger,
    });
    const picks = await lives();
    // Delivered one at a time and in order, as the pipeline emits them seconds apart.
    for (const [i, pick] of picks.entries()) {
      sink.writePick(pick, 1000 * (i + 1));
      await until(() => sink.stats().delivered === i + 1, 10_000, `delivery of ${pick.status} ${pick.id}`);
    }
    t.equal(await sink.close(10_000), 0);
    const [series] = await influxd.query(
      'SELECT status, id, final_id, probability, latency_ms, first_latency_ms, phase FROM picks',
      'phasestream',
    );
    t.same(
      series.values.map(([time, ...rest]) => [(time as number) * 1, ...rest]),
      [
        [confirmedP.timeUs, 'final', confirmedP.id, null, 0.91, 4000, 1000, 'P'],
        [revisedS.timeUs, 'revised', revisedS.id, finalS.id, 0.7, 2000, 2000, 'S'],
        [finalS.timeUs, 'final', finalS.id, null, 0.82, 6000, null, 'S'],
        [retractedP.timeUs, 'retracted', retractedP.id, null, 0.6, 3000, 3000, 'P'],
      ],
      'four points for three provisional picks and two final ones',
    );
    const [finals] = await influxd.query("SELECT id FROM picks WHERE status = 'final'", 'phasestream');
    t.same(
      finals.values.map((row) => row[1]),
      [confirmedP.id, finalS.id],
    );
  },
);

t.test(
  'WebSocket: a subscriber sees provisional then final under one id; one asking for final only sees finals',
  async (t) => {
    const { broadcaster, wsUrl, stop } = await startBroadcaster();
    t.teardown(stop);
    const all = await subscriber(wsUrl, {});
    const finalOnly = await subscriber(wsUrl, { filter: { statuses: ['final'] } });
    await Promise.all([all.ready, finalOnly.ready]);
    const picks = await lives();
    for (const pick of picks) broadcaster.publishPick(pick);
    await until(
      () => all.picks().length === picks.length && finalOnly.picks().length === 2,
      5000,
      'the picks',
    );
    const seen = all.picks().map((m) => [m.pick.status, m.pick.id, m.pick.finalId]);
    t.same(
      seen.filter(([, id]) => id === confirmedP.id),
      [
        ['provisional', confirmedP.id, undefined],
        ['final', confirmedP.id, undefined],
      ],
      'one id from provisional to final',
    );
    t.same(
      seen.filter(([status]) => status === 'revised' || status === 'retracted'),
      [
        ['revised', revisedS.id, finalS.id],
        ['retracted', retractedP.id, undefined],
      ],
    );
    t.same(
      finalOnly.picks().map((m) => m.pick.id),
      [confirmedP.id, finalS.id],
    );
    const bad = await subscriber(wsUrl, { filter: { statuses: ['maybe'] } });
    await bad.ready;
    t.equal(bad.messages.at(-1)?.error, 'bad-filter');
    for (const client of [all, finalOnly, bad]) client.ws.close();
  },
);

t.test('pick files: every step a line, with status, id and the revision’s finalId', async (t) => {
  const dir = t.testdir();
  const picks = await lives();
  for (const format of ['jsonl', 'csv'] as const) {
    const path = join(dir, `picks.${format}`);
    const file = new PickFile(path, format);
    for (const pick of picks) await file.write(pick);
    await file.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    if (format === 'jsonl') {
      const rows = lines.map((line) => JSON.parse(line));
      t.same(
        rows.map((r) => [r.status, r.id, r.finalId]),
        picks.map((p) => [p.status, p.id, p.finalId]),
      );
      t.notOk('finalId' in rows[0], 'no finalId key on other picks');
    } else {
      t.equal(lines[0].split(',').slice(-3).join(','), 'status,id,finalId');
      t.equal(
        lines[5],
        `XX,S01,00,HH,S,${revisedS.time},0.7,test-model,,,revised,${revisedS.id},${finalS.id}`,
      );
      t.equal(lines[1].split(',').at(-1), '', 'an empty finalId elsewhere');
    }
  }
});
