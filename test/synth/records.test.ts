import t from 'tap';
import { addWhiteNoise, chooseExtract, resampleTrace, rms } from '../../src/synth/records.ts';
import { seededUniform } from '../../src/util/random.ts';

t.test('resampling interpolates between simulation steps, with the half-step offset', async (t) => {
  const dtS = 0.001;
  const firstSampleS = 0.0005;
  const trace = Float64Array.from({ length: 2000 }, (_, k) =>
    Math.sin(2 * Math.PI * 3 * (firstSampleS + k * dtS)),
  );
  const out = resampleTrace(trace, firstSampleS, dtS, 100, 150);
  let worst = 0;
  for (let n = 1; n < out.length; n++)
    worst = Math.max(worst, Math.abs(out[n] - Math.sin(2 * Math.PI * 3 * (n / 100))));
  t.ok(worst < 2e-4, `largest error ${worst.toExponential(2)}`);
  t.equal(out[0], 0, 'before the first sample: 0');
  t.equal(resampleTrace(trace, firstSampleS, dtS, 100, 300)[299], 0, 'after the last sample: 0');
});

t.test("extracts: alpha's share holds both arrivals, the rest none", async (t) => {
  const uniform = seededUniform(3);
  let withArrivals = 0;
  const draws = 4000;
  for (let d = 0; d < draws; d++) {
    const e = chooseExtract(6000, 3000, 3500, 3900, 0.8, uniform);
    if (e.start < 0 || e.start + 3000 > 6000) t.fail(`extract outside the record: ${e.start}`);
    if (e.itp !== null) {
      withArrivals++;
      if (e.its === null || e.itp < 100 || e.its > 2899) t.fail(`arrivals at the edge: ${JSON.stringify(e)}`);
      if (e.itp !== 3500 - e.start) t.fail('P sample relative to the extract');
    } else if (e.its !== null) {
      t.fail('an extract without P holds S');
    }
  }
  t.ok(
    Math.abs(withArrivals / draws - 0.8) < 0.03,
    `${((100 * withArrivals) / draws).toFixed(1)} % hold the arrivals`,
  );
  // Without room for a quiet extract, every extract holds the arrivals.
  const tight = chooseExtract(3200, 3000, 1500, 1900, 0, uniform);
  t.not(tight.itp, null);
  // S too far after P to fit: P inside, S outside.
  const far = chooseExtract(9000, 3000, 1000, 5000, 1, uniform);
  t.not(far.itp, null);
  t.equal(far.its, null);
});

t.test('white noise at the requested SNR (dB, RMS ratio squared)', async (t) => {
  const uniform = seededUniform(5);
  const signal = Float32Array.from({ length: 20000 }, (_, k) => Math.sin(k / 10));
  const signalRms = rms(signal);
  for (const snrDb of [0, 10, 20]) {
    const noisy = signal.slice();
    addWhiteNoise(noisy, signalRms, snrDb, uniform);
    const noise = noisy.map((v, k) => v - signal[k]);
    const measured = 20 * Math.log10(signalRms / rms(noise));
    t.ok(Math.abs(measured - snrDb) < 0.1, `SNR ${snrDb} dB: measured ${measured.toFixed(3)} dB`);
  }
});
