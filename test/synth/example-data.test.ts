import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readMseedBuffer } from '../../src/ingest/mseed/index.ts';
import { rms } from '../../src/synth/records.ts';
import { readArrivalsCsv } from '../../src/train/continuous-truth.ts';
import { repoRoot } from '../helpers/cli.ts';

/** The shipped example data (examples/synthetic): what its README says it is. */
const dir = join(repoRoot, 'examples', 'synthetic');

function readTrace(name: string): { startUs: number; rate: number; samples: Float64Array } {
  const parts: number[] = [];
  let startUs = Number.NaN;
  let rate = Number.NaN;
  for (const result of readMseedBuffer(readFileSync(join(dir, name)))) {
    if (result.error) throw result.error;
    if (parts.length === 0) {
      startUs = result.record.startTimeUs;
      rate = result.record.samplingRate;
    }
    parts.push(...Array.from(result.record.samples as ArrayLike<number>));
  }
  return { startUs, rate, samples: Float64Array.from(parts) };
}

t.test('four stations, three components, four minutes at 100 Hz, under 400 kB', async (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.mseed'));
  t.equal(files.length, 12);
  let bytes = 0;
  for (const f of files) {
    bytes += readFileSync(join(dir, f)).length;
    const trace = readTrace(f);
    t.equal(trace.rate, 100);
    t.equal(trace.samples.length, 24000, `${f}: 240 s`);
  }
  t.ok(bytes < 400_000, `${bytes} bytes`);
});

t.test('every true pick is where its phase arrives in the waveforms', async (t) => {
  const lines = readFileSync(join(dir, 'picks.csv'), 'utf8').trim().split('\n');
  t.equal(lines[0], 'phase,sample,time,source_fname,source,scale,network,station');
  t.equal(readArrivalsCsv(join(dir, 'picks.csv')).length, 48, '6 events x 4 stations x P and S');
  const traces = new Map<string, Float64Array>();
  const trace = (station: string, component: string) => {
    const name = `SY.${station}.00.HH${component}.mseed`;
    if (!traces.has(name)) traces.set(name, readTrace(name).samples);
    return traces.get(name)!;
  };
  const { startUs } = readTrace('SY.SYN01.00.HHZ.mseed');
  // P on the vertical, S on the horizontals: more energy in the half second after a pick than in
  // the 0.4 s before it. Weak head waves at the far stations can stay under that, so a share of the
  // picks is asked, and labels moved by 2 s must do far worse.
  const rises = (shiftSamples: number) => {
    const count = { P: 0, S: 0 };
    for (const line of lines.slice(1)) {
      const [phase, sampleText, , , , , , station] = line.split(',');
      const sample = Number(sampleText) + shiftSamples;
      const energy = (from: number, to: number) =>
        phase === 'P'
          ? rms(trace(station, 'Z'), from, to)
          : Math.hypot(rms(trace(station, 'E'), from, to), rms(trace(station, 'N'), from, to));
      if (energy(sample, sample + 50) > 1.5 * energy(sample - 40, sample - 5)) count[phase as 'P' | 'S']++;
    }
    return count;
  };
  for (const line of lines.slice(1)) {
    const [, sampleText, time] = line.split(',');
    if (Date.parse(time) * 1000 !== startUs + Number(sampleText) * 10_000)
      t.fail(`sample and time disagree: ${line}`);
  }
  const atLabels = rises(0);
  t.ok(atLabels.P >= 22, `P: energy rises at ${atLabels.P} of 24 labels`);
  t.ok(atLabels.S >= 20, `S: energy rises at ${atLabels.S} of 24 labels`);
  for (const shift of [-200, 200]) {
    const moved = rises(shift);
    t.ok(
      moved.P < atLabels.P - 10 && moved.S < atLabels.S - 5,
      `labels moved by ${shift / 100} s: ${moved.P} P, ${moved.S} S`,
    );
  }
});
