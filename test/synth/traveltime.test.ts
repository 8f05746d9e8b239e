import t from 'tap';
import { layeredFirstArrivalS } from '../../src/synth/analytic.ts';
import { scenarioLabels } from '../../src/synth/dataset.ts';
import { gridFromModel, type LayeredModel, nodeAt } from '../../src/synth/medium.ts';
import { waveformOnsetS } from '../../src/synth/onset.ts';
import { simulate } from '../../src/synth/simulate.ts';
import { arrivalTimes, sArrivalSpeed, travelTimes } from '../../src/synth/traveltime.ts';
import { type Wavelet, waveletOnsetS } from '../../src/synth/wavelet.ts';

t.test('homogeneous: shortest-path times within 0.5 % of r / v everywhere', async (t) => {
  const rock = { thicknessM: 0, vpMS: 2000, vsMS: 1155, densityKgM3: 2000 };
  const medium = gridFromModel(
    { layers: [rock] },
    { widthM: 500, depthM: 500, spacingM: 5, freeSurface: false },
  );
  const times = travelTimes(medium, medium.vp, { i: 30, j: 60 });
  let worst = 0;
  for (let k = 0; k < times.length; k++) {
    const i = k % medium.nx;
    const r = Math.hypot(i - 30, (k - i) / medium.nx - 60) * 5;
    if (r > 0) worst = Math.max(worst, Math.abs((times[k] * 2000) / r - 1));
  }
  t.ok(worst < 0.005, `largest relative error ${(100 * worst).toFixed(3)} %`);
  t.ok(worst > 0, 'the grid is not exact (a forward star of radius 5)');
  // Bent rays: straight lines, to a microsecond, where the forward star is up to 0.5 % long.
  const targets = [
    { i: 99, j: 0 },
    { i: 99, j: 97 },
    { i: 0, j: 3 },
    { i: 71, j: 100 },
  ];
  const bent = arrivalTimes(medium, medium.vp, { i: 30, j: 60 }, targets);
  targets.forEach(({ i, j }, n) => {
    const exact = (Math.hypot(i - 30, j - 60) * 5) / 2000;
    t.ok(Math.abs(bent[n] - exact) < 1e-6, `(${i}, ${j}): ${bent[n]} s, exact ${exact} s`);
  });
});

t.test(
  'the analytic first arrival through flat layers: as a brute-force search of crossing points',
  async (t) => {
    const layers = [
      { thicknessM: 390, speedMS: 3000 },
      { thicknessM: 0, speedMS: 4200 },
    ];
    // Source 600 m into the half-space, receiver 4000 m away: every crossing point of the interface.
    let direct = Number.POSITIVE_INFINITY;
    for (let x = 0; x <= 4000; x += 0.01)
      direct = Math.min(direct, Math.hypot(x, 600) / 4200 + Math.hypot(4000 - x, 390) / 3000);
    t.ok(Math.abs(layeredFirstArrivalS(layers, 990, 4000) - direct) < 1e-7);
    // Source in the layer: the head wave x / v2 + (2h - zs) cos(ic) / v1 once it overtakes.
    const head = 4000 / 4200 + ((2 * 390 - 100) * Math.sqrt(1 - (3000 / 4200) ** 2)) / 3000;
    t.ok(head < Math.hypot(4000, 100) / 3000);
    t.ok(Math.abs(layeredFirstArrivalS(layers, 100, 4000) - head) < 1e-9);
  },
);

t.test(
  'labels through a layered crust: within 2 ms (a fifth of a sample) of the analytic first arrivals',
  async (t) => {
    const layers = [
      { thicknessM: 390, vpMS: 3000, vsMS: 1500, densityKgM3: 2100 },
      { thicknessM: 1500, vpMS: 4200, vsMS: 2400, densityKgM3: 2400 },
      { thicknessM: 4000, vpMS: 5800, vsMS: 3350, densityKgM3: 2700 },
      { thicknessM: 0, vpMS: 6400, vsMS: 3700, densityKgM3: 2900 },
    ];
    const model: LayeredModel = { layers };
    // 30 m cells as the example data: interfaces 390 and 1890 on grid rows, 5890 between rows.
    const medium = gridFromModel(model, { widthM: 18000, depthM: 9000, spacingM: 30 });
    const receivers = [3000, 6990, 11010, 15000, 17010].map((xM) => ({ xM, zM: 0 }));
    const wavelet: Wavelet = { kind: 'ricker', peakHz: 2 };
    for (const depthM of [990, 8010]) {
      const source = { xM: 3000, zM: depthM, mechanism: 'explosion' as const, wavelet };
      const labels = scenarioLabels({ medium, source, receivers, model });
      for (const phase of ['P', 'S'] as const) {
        const speeds = layers.map((l) => ({
          thicknessM: l.thicknessM,
          speedMS: phase === 'P' ? l.vpMS : l.vsMS,
        }));
        receivers.forEach((r, n) => {
          const analytic = layeredFirstArrivalS(speeds, depthM, Math.abs(r.xM - 3000));
          const label = (phase === 'P' ? labels.pS : labels.sS)[n] - waveletOnsetS(wavelet);
          t.ok(
            Math.abs(label - analytic) < 0.002,
            `source ${depthM} m, ${phase} at ${r.xM} m: label - analytic = ${(1000 * (label - analytic)).toFixed(2)} ms (analytic ${analytic.toFixed(3)} s)`,
          );
        });
      }
    }
  },
);

t.test(
  'layer over a half-space: labels as the analytic direct and head waves (0.1 ms), and as the waveforms',
  async (t) => {
    const [depthLayer, v1, v2] = [100, 1500, 3000];
    const model = {
      layers: [
        { thicknessM: depthLayer, vpMS: v1, vsMS: 700, densityKgM3: 1900 },
        { thicknessM: 0, vpMS: v2, vsMS: 1700, densityKgM3: 2300 },
      ],
    };
    const medium = gridFromModel(model, { widthM: 1400, depthM: 500, spacingM: 5 });
    const sourceDepth = 20;
    const wavelet: Wavelet = { kind: 'ricker', peakHz: 9 };
    const offsets = [100, 300, 500, 700, 900, 1100];
    const sim = simulate({
      medium,
      source: { xM: 200, zM: sourceDepth, mechanism: 'explosion', wavelet },
      receivers: offsets.map((x) => ({ xM: 200 + x, zM: 0 })),
      durationS: 0.6,
    });
    const labels = scenarioLabels({
      medium,
      source: { xM: 200, zM: sourceDepth, mechanism: 'explosion', wavelet },
      receivers: offsets.map((x) => ({ xM: 200 + x, zM: 0 })),
      model,
    });
    const critical = Math.asin(v1 / v2);
    offsets.forEach((x, n) => {
      const label = labels.pS[n] - waveletOnsetS(wavelet);
      const direct = Math.hypot(x, sourceDepth) / v1;
      const head =
        x > (2 * depthLayer - sourceDepth) * Math.tan(critical)
          ? x / v2 + ((2 * depthLayer - sourceDepth) * Math.cos(critical)) / v1
          : Number.POSITIVE_INFINITY;
      const analytic = Math.min(direct, head);
      t.ok(
        Math.abs(label - analytic) < 1e-4,
        `${x} m (${head < direct ? 'head wave' : 'direct'}): ${label.toFixed(5)} s, analytic ${analytic.toFixed(5)} s`,
      );
      const onset = waveformOnsetS(sim.vx[n], sim.vz[n], sim.firstSampleS, sim.dtS)!;
      const residual = onset - (label + waveletOnsetS(wavelet));
      t.ok(
        Math.abs(residual) < 0.3 / wavelet.peakHz,
        `${x} m: waveform onset - label = ${(1000 * residual).toFixed(1)} ms`,
      );
    });
  },
);

t.test('S labels agree with the S onset of the waveforms', async (t) => {
  const rock = { thicknessM: 0, vpMS: 2000, vsMS: 1155, densityKgM3: 2000 };
  const medium = gridFromModel(
    { layers: [rock] },
    { widthM: 800, depthM: 600, spacingM: 5, freeSurface: false },
  );
  const wavelet: Wavelet = { kind: 'ricker', peakHz: 10 };
  // A vertical force radiates S, and almost no P, horizontally.
  const sim = simulate({
    medium,
    source: { xM: 200, zM: 300, mechanism: 'force', wavelet },
    receivers: [{ xM: 500, zM: 300 }],
    durationS: 0.45,
  });
  const sTimes = travelTimes(medium, sArrivalSpeed(medium), nodeAt(medium, 200, 300));
  const label = sTimes[nodeAt(medium, 500, 300).j * medium.nx + nodeAt(medium, 500, 300).i];
  t.ok(Math.abs(label - 300 / 1155) < 0.005 * label, `S label ${label.toFixed(4)} s`);
  const onset = waveformOnsetS(sim.vx[0], sim.vz[0], sim.firstSampleS, sim.dtS, { fraction: 0.05 })!;
  const residual = onset - (label + waveletOnsetS(wavelet));
  t.ok(Math.abs(residual) < 0.3 / wavelet.peakHz, `S onset - label = ${(1000 * residual).toFixed(1)} ms`);
});

t.test('S through a fluid layer travels as P; vacuum is never crossed', async (t) => {
  const model = {
    layers: [
      { thicknessM: 50, vpMS: 2000, vsMS: 900, densityKgM3: 2000 },
      { thicknessM: 50, vpMS: 1500, vsMS: 0, densityKgM3: 1000 },
      { thicknessM: 0, vpMS: 3000, vsMS: 1700, densityKgM3: 2400 },
    ],
    topography: [
      { xM: 0, elevationM: 0 },
      { xM: 100, elevationM: 40 },
      { xM: 200, elevationM: 0 },
    ],
  };
  const medium = gridFromModel(model, { widthM: 300, depthM: 200, spacingM: 5 });
  const speeds = sArrivalSpeed(medium);
  const fluid = nodeAt(medium, 150, 75);
  t.equal(speeds[fluid.j * medium.nx + fluid.i], 1500);
  const times = travelTimes(medium, medium.vp, nodeAt(medium, 0, 0));
  const hilltop = nodeAt(medium, 100, -40);
  const above = nodeAt(medium, 100, -50);
  t.ok(Number.isFinite(times[hilltop.j * medium.nx + hilltop.i]), 'the hilltop is reached');
  t.equal(times[above.j * medium.nx + above.i], Number.POSITIVE_INFINITY, 'the air is not');
  // Around the hill, not through the air: longer than the straight chord.
  t.ok(times[hilltop.j * medium.nx + hilltop.i] > Math.hypot(100, 40) / 2000);
});
