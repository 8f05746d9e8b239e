import { from, lastValueFrom, type OperatorFunction, toArray } from 'rxjs';
import t from 'tap';
import type { WaveformFormatError } from '../../src/errors.ts';
import { decodeMseedRecord } from '../../src/ingest/mseed/decode.ts';
import { encodeMseed } from '../../src/ingest/mseed/encode.ts';
import { normalizeWindow } from '../../src/picker/normalize.ts';
import { assembleStation } from '../../src/stream/assemble-station.ts';
import { batchWindows } from '../../src/stream/batch-windows.ts';
import { decodeRecords } from '../../src/stream/decode-records.ts';
import { perChannel, perStation } from '../../src/stream/per-station.ts';
import { stationWindows } from '../../src/stream/pipeline.ts';
import { resampleChannel } from '../../src/stream/resample-channel.ts';
import { type SequenceRecord, sequenceChannel } from '../../src/stream/sequence-channel.ts';
import { slidingWindows } from '../../src/stream/sliding-windows.ts';
import { type ChannelEvent, type StationWindow, stationKey } from '../../src/stream/types.ts';
import { plain } from './marbles.ts';

/**
 * The whole stream layer on miniSEED bytes: four stations of different rates and troubles, decoded,
 * sequenced, resampled, assembled, windowed and batched, checked against the signals they were made of.
 */

const T0_S = 1_700_000_000;
const T0_US = T0_S * 1e6;
const PULSE_S = 35.1234; // an "arrival" between grid points

/** A smooth trace with a DC offset and a pulse, per component. */
const trace = (component: number, timeS: number) =>
  5000 +
  1000 * component +
  40 * Math.sin(2 * Math.PI * 0.2 * timeS + component) +
  800 * Math.exp(-(((timeS - PULSE_S) / 0.1) ** 2));

interface ChannelSpec {
  station: string;
  channel: string;
  rate: number;
  /** Spans of seconds from T0 with data. */
  spans: [number, number][];
  component: number;
}

function records(spec: ChannelSpec): { bytes: Uint8Array; startS: number }[] {
  return spec.spans.flatMap(([a, b]) => {
    const n = Math.round((b - a) * spec.rate);
    // Rates the model does not take come as float64 (no rounding to compare against), others as Steim2 counts.
    const float = spec.rate !== 100;
    const samples = Array.from({ length: n }, (_, i) => {
      const v = trace(spec.component, a + i / spec.rate);
      return float ? v : Math.round(v);
    });
    return encodeMseed(
      {
        streamId: { network: 'XX', station: spec.station, location: '', channel: spec.channel },
        startTimeUs: T0_US + a * 1e6,
        samplingRate: spec.rate,
        samples,
      },
      { encoding: float ? 'float64' : 'steim2', recordLength: float ? 4096 : 512 },
    ).map((bytes) => ({ bytes, startS: (decodeMseedRecord(bytes).startTimeUs - T0_US) / 1e6 }));
  });
}

const specs: ChannelSpec[] = [
  // A: 200 Hz, three components.
  ...['E', 'N', 'Z'].map((c, k) => ({
    station: 'A',
    channel: `HH${c}`,
    rate: 200,
    spans: [[0, 70]] as [number, number][],
    component: k,
  })),
  // B: 40 Hz, vertical only.
  { station: 'B', channel: 'EHZ', rate: 40, spans: [[0, 70]], component: 2 },
  // C: 100 Hz, its E never comes (N as 1).
  { station: 'C', channel: 'HH1', rate: 100, spans: [[0, 70]], component: 1 },
  { station: 'C', channel: 'HHZ', rate: 100, spans: [[0, 70]], component: 2 },
  // D: 100 Hz, 20 s without data on all components.
  ...['E', 'N', 'Z'].map((c, k) => ({
    station: 'D',
    channel: `HH${c}`,
    rate: 100,
    spans: [
      [0, 30],
      [50, 80],
    ] as [number, number][],
    component: k,
  })),
];

const feed = specs
  .flatMap((spec) => records(spec).map((r) => ({ ...r, key: `${spec.station}.${spec.channel}` })))
  .sort((a, b) => a.startS - b.startS);
// A's Z sends one record twice, two of A's N records come swapped, and a corrupt record comes in between.
const zIndex = feed.findIndex((r) => r.key === 'A.HHZ' && r.startS > 20);
feed.splice(zIndex + 5, 0, feed[zIndex]);
const nIndices = feed.flatMap((r, i) => (r.key === 'A.HHN' && r.startS > 40 ? [i] : [])).slice(0, 2);
[feed[nIndices[0]], feed[nIndices[1]]] = [feed[nIndices[1]], feed[nIndices[0]]];
feed.splice(100, 0, { bytes: feed[50].bytes.slice(0, 300), startS: 0, key: 'corrupt' });

t.test('records of four stations become the windows of their signals', async (t) => {
  const events: ChannelEvent[] = [];
  const bad: WaveformFormatError[] = [];
  const batches = await lastValueFrom(
    from(feed.map((r) => ({ recordBytes: r.bytes }))).pipe(
      decodeRecords({ onBadRecord: (e) => bad.push(e) }),
      stationWindows({
        samplingRate: 100,
        components: ['E', 'N', 'Z'],
        windowLength: 3000,
        strideSamples: 1500,
        report: (e) => events.push(e),
        onError: (key, error) => t.fail(`${key} failed: ${error}`),
        clock: () => 42,
      }),
      batchWindows({ size: 4, maxWaitMs: 1000 }),
      toArray(),
    ),
  );
  t.ok(
    batches.every((b) => b.length >= 1 && b.length <= 4),
    'batches of at most 4',
  );
  const windows = batches.flat();
  const of = (station: string) => windows.filter((w) => w.station.station === station);
  t.strictSame([...new Set(windows.map((w) => stationKey(w.station)))].sort(), [
    'XX.A..HH',
    'XX.B..EH',
    'XX.C..HH',
    'XX.D..HH',
  ]);
  t.ok(windows.every((w) => w.receivedAtMs === 42 && w.samplingRate === 100 && w.length === 3000));

  /** The starts (from T0, in samples) and the segment ends, per station. */
  const layout = (ws: StationWindow[]) => ws.map((w) => [w.startIndex - T0_S * 100, w.endOfSegment]);
  /** The windows of a segment on the absolute grid: one at its start, the multiples of the stride, one at its end. */
  const expectedLayout = (segmentStart: number, length: number) => {
    const origin = T0_S * 100;
    const first = origin + segmentStart;
    const end = first + length;
    const starts = [first];
    for (let s = (Math.floor(first / 1500) + 1) * 1500; s + 3000 <= end; s += 1500) starts.push(s);
    if (length > 3000 && starts[starts.length - 1] + 3000 < end) starts.push(end - 3000);
    return starts.map((s, i) => [s - origin, i === starts.length - 1]);
  };

  // A: 200 Hz over [0, 70 s) -> 100 Hz outputs through its last sample, 69.995 s: 7000 samples.
  t.strictSame(layout(of('A')), expectedLayout(0, 7000));
  // B: 40 Hz over [0, 70 s): last sample at 69.975 s -> outputs 0..6997.
  t.strictSame(layout(of('B')), expectedLayout(0, 6998));
  t.strictSame(layout(of('C')), expectedLayout(0, 7000));
  // D: two segments, [0, 30 s) and [50 s, 80 s).
  t.strictSame(layout(of('D')), [...expectedLayout(0, 3000), ...expectedLayout(5000, 3000)]);

  /** The normalized window of the analytic traces at the window's samples (components not in `present` zero). */
  const expected = (w: StationWindow, present: boolean[], round: boolean) => {
    const raw = new Float64Array(w.length * 3);
    for (let i = 0; i < w.length; i++) {
      const timeS = (w.startIndex + i) / 100 - T0_S;
      for (let c = 0; c < 3; c++) {
        const v = trace(c, timeS);
        raw[i * 3 + c] = present[c] ? (round ? Math.round(v) : v) : 0;
      }
    }
    return normalizeWindow(raw, 3);
  };
  const maxDiff = (a: Float32Array, b: Float32Array) =>
    a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  // Resampled stations: the windows away from the segment's ends match the analytic trace.
  for (const [station, present] of [
    ['A', [true, true, true]],
    ['B', [false, false, true]],
  ] as const) {
    for (const w of of(station).slice(1, -1)) {
      const reference = expected(w, [...present], false);
      // The filter's passband ripple (< 0.1 %) is all that may differ.
      const peak = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const diff = maxDiff(w.data, reference);
      t.ok(
        diff < 1e-3 * peak,
        `${station} window at ${w.startIndex - T0_S * 100}: within ${diff} of ${peak}`,
      );
    }
  }
  // The pulse peaks on Z at its time, to the sample.
  const pulseSample = T0_S * 100 + Math.round(PULSE_S * 100);
  const pulseWindow = of('A').find(
    (w) => w.startIndex + 1000 <= pulseSample && pulseSample < w.startIndex + 2000,
  )!;
  let peak = 0;
  for (let i = 1; i < 3000; i++) if (pulseWindow.data[i * 3 + 2] > pulseWindow.data[peak * 3 + 2]) peak = i;
  t.equal(
    pulseWindow.startIndex + peak,
    T0_S * 100 + Math.round(PULSE_S * 100),
    'the arrival keeps its sample',
  );
  // 100 Hz stations pass through: their windows are exactly the normalized counts.
  for (const w of of('C'))
    t.strictSame(w.data, expected(w, [false, true, true], true), 'C: E is zeros, exact');
  for (const w of of('D')) t.strictSame(w.data, expected(w, [true, true, true], true), 'D: exact');

  const seen = (kind: ChannelEvent['kind']) =>
    events
      .filter((e) => e.kind === kind)
      .map(
        (e) =>
          `${e.streamId.station}.${e.streamId.channel}${e.durationUs === undefined ? '' : ` ${e.durationUs}`}`,
      );
  t.strictSame(seen('duplicate').length, 1);
  t.match(seen('duplicate')[0], /^A\.HHZ /);
  t.strictSame(seen('out-of-order'), ['A.HHN']);
  t.strictSame(seen('gap').sort(), ['D.HHE 20000000', 'D.HHN 20000000', 'D.HHZ 20000000']);
  t.equal(events.length, 5, 'nothing else to report');
  t.equal(bad.length, 1, 'the corrupt record is reported once');
});

t.test(
  'stationWindows puts out what the named operators grouped per channel and station do, in order',
  async (t) => {
    const run = async (
      windows: (report: (e: ChannelEvent) => void) => OperatorFunction<SequenceRecord, StationWindow>,
    ) => {
      const events: ChannelEvent[] = [];
      const out = await lastValueFrom(
        from(feed.map((r) => ({ recordBytes: r.bytes }))).pipe(
          decodeRecords({ onBadRecord: () => {} }),
          windows((e) => events.push(e)),
          toArray(),
        ),
      );
      return { windows: plain(out), events };
    };
    const clock = () => 42;
    const composed = await run(
      (report) => (records) =>
        records.pipe(
          perChannel((channel) =>
            channel.pipe(sequenceChannel({ maxReorderWaitMs: 500, report }), resampleChannel(100)),
          ),
          perStation((station) =>
            station.pipe(
              assembleStation({ components: ['E', 'N', 'Z'], samplingRate: 100, maxLagMs: 8000, report }),
              slidingWindows({ length: 3000, stride: 1000, components: ['E', 'N', 'Z'], clock }),
            ),
          ),
        ),
    );
    const fused = await run((report) =>
      stationWindows({
        samplingRate: 100,
        components: ['E', 'N', 'Z'],
        windowLength: 3000,
        strideSamples: 1000,
        maxReorderWaitMs: 500,
        maxLagMs: 8000,
        report,
        clock,
      }),
    );
    const stations = (composed.windows as StationWindow[]).map((w) => w.station.station);
    t.strictSame([...new Set(stations)].sort(), ['A', 'B', 'C', 'D'], 'windows of every station');
    t.strictSame(fused.windows, composed.windows, 'the same windows in the same order');
    t.strictSame(fused.events, composed.events, 'the same events in the same order');
  },
);
