import t from 'tap';
import { SimulationGridError } from '../../src/errors.ts';
import {
  crossCorrelationLag,
  explosionRadialVelocity,
  forceFarFieldSVelocity,
} from '../../src/synth/analytic.ts';
import { gridFromModel, type Layer } from '../../src/synth/medium.ts';
import { checkGrid, simulate } from '../../src/synth/simulate.ts';
import type { Wavelet } from '../../src/synth/wavelet.ts';

const rock: Layer = { thicknessM: 0, vpMS: 2000, vsMS: 1155, densityKgM3: 2000 };
const ricker10: Wavelet = { kind: 'ricker', peakHz: 10 };

function peak(trace: ArrayLike<number>): number {
  let max = 0;
  for (let k = 0; k < trace.length; k++) max = Math.max(max, Math.abs(trace[k]));
  return max;
}

/** Rayleigh velocity: the root of (2 - c^2/vs^2)^2 = 4 sqrt(1 - c^2/vp^2) sqrt(1 - c^2/vs^2). */
function rayleighVelocity(vp: number, vs: number): number {
  let [lo, hi] = [0.5 * vs, vs];
  for (let k = 0; k < 60; k++) {
    const c = 0.5 * (lo + hi);
    const f = (2 - (c / vs) ** 2) ** 2 - 4 * Math.sqrt(1 - (c / vp) ** 2) * Math.sqrt(1 - (c / vs) ** 2);
    if (f < 0) lo = c;
    else hi = c;
  }
  return 0.5 * (lo + hi);
}

t.test('homogeneous full space: arrival times and amplitudes as the analytic 2-D solutions', async (t) => {
  const medium = gridFromModel(
    { layers: [rock] },
    { widthM: 1200, depthM: 1200, spacingM: 5, freeSurface: false },
  );
  const distances = [100, 200, 300, 400];
  const receivers = distances.map((r) => ({ xM: 600 + r, zM: 600 }));
  const analyticTrace = (steps: number, dtS: number, at: (t: number) => number) =>
    Float64Array.from({ length: steps }, (_, k) => at((k + 0.5) * dtS));

  // P: an explosion, whose solution is exact (near field included).
  const p = simulate({
    medium,
    source: { xM: 600, zM: 600, mechanism: 'explosion', wavelet: ricker10, amplitude: 1e9 },
    receivers,
    durationS: 0.4,
  });
  const pAmplitudes: number[] = [];
  distances.forEach((r, n) => {
    const exact = analyticTrace(p.steps, p.dtS, (time) =>
      explosionRadialVelocity(ricker10, rock, r, time, 1e9),
    );
    const lag = crossCorrelationLag(exact, p.vx[n], 10);
    t.ok(Math.abs(lag) < 1, `P at ${r} m: ${lag.toFixed(3)} samples from the exact arrival`);
    const ratio = peak(p.vx[n]) / peak(exact);
    t.ok(Math.abs(ratio - 1) < 0.05, `P at ${r} m: peak velocity ${ratio.toFixed(4)} x exact`);
    pAmplitudes.push(peak(p.vx[n]));
    // The vertical component on this line is zero for an explosion.
    t.ok(peak(p.vz[n]) < 1e-3 * peak(p.vx[n]), `no vertical motion at ${r} m`);
  });
  // Far-field decay: 1/sqrt(r) between 200 and 400 m.
  const decay = pAmplitudes[3] / pAmplitudes[1] / Math.sqrt(200 / 400);
  t.ok(Math.abs(decay - 1) < 0.05, `P amplitude 400 m / 200 m = ${decay.toFixed(4)} x 1/sqrt(r)`);

  // S: a vertical force seen perpendicular to it, where only S radiates in the far field.
  const s = simulate({
    medium,
    source: { xM: 600, zM: 600, mechanism: 'force', wavelet: ricker10, amplitude: 1e6 },
    receivers,
    durationS: 0.65,
  });
  const sAmplitudes: number[] = [];
  distances.forEach((r, n) => {
    if (r < 200) return; // the near field is still ~3 % at one and a half wavelengths
    const far = analyticTrace(s.steps, s.dtS, (time) => forceFarFieldSVelocity(ricker10, rock, r, time, 1e6));
    const lag = crossCorrelationLag(far, s.vz[n], 10);
    t.ok(Math.abs(lag) < 1, `S at ${r} m: ${lag.toFixed(3)} samples from the far-field arrival`);
    const ratio = peak(s.vz[n]) / peak(far);
    t.ok(Math.abs(ratio - 1) < 0.05, `S at ${r} m: peak velocity ${ratio.toFixed(4)} x far field`);
    sAmplitudes.push(peak(s.vz[n]));
  });
  const sDecay = sAmplitudes[2] / sAmplitudes[0] / Math.sqrt(200 / 400);
  t.ok(Math.abs(sDecay - 1) < 0.05, `S amplitude 400 m / 200 m = ${sDecay.toFixed(4)} x 1/sqrt(r)`);
});

t.test(
  "Lamb's problem: P at the free surface on time, Rayleigh waves at the Rayleigh velocity",
  async (t) => {
    const medium = gridFromModel({ layers: [rock] }, { widthM: 1200, depthM: 600, spacingM: 5 });
    // Garvin's problem: an explosion under the surface; a P wave meets the surface with a real
    // reflection coefficient, so the surface motion keeps the incident pulse's shape and time.
    const depth = 300;
    const offsets = [0, 150];
    const garvin = simulate({
      medium,
      source: { xM: 300, zM: depth, mechanism: 'explosion', wavelet: ricker10 },
      receivers: offsets.map((x) => ({ xM: 300 + x, zM: 0 })),
      durationS: 0.45,
    });
    offsets.forEach((x, n) => {
      const r = Math.hypot(x, depth);
      const incident = Float64Array.from({ length: garvin.steps }, (_, k) => {
        const time = (k + 0.5) * garvin.dtS;
        return time < r / rock.vpMS + 0.2 ? explosionRadialVelocity(ricker10, rock, r, time) : 0;
      });
      const window = garvin.vz[n].map((v, k) => ((k + 0.5) * garvin.dtS < r / rock.vpMS + 0.2 ? v : 0));
      // Upward is -z: the surface moves up (vz < 0) as the radial pulse comes.
      const lag = crossCorrelationLag(
        incident,
        window.map((v) => -v),
        10,
      );
      t.ok(Math.abs(lag) < 1, `P at the surface ${x} m away: ${lag.toFixed(3)} samples from r / vp`);
    });

    // Lamb's problem: a vertical force on the surface; the Rayleigh pulse between two receivers.
    const lamb = simulate({
      medium,
      source: { xM: 250, zM: 0, mechanism: 'force', wavelet: ricker10 },
      receivers: [300, 600].map((x) => ({ xM: 250 + x, zM: 0 })),
      durationS: 0.9,
    });
    const cR = rayleighVelocity(rock.vpMS, rock.vsMS);
    const around = (trace: Float32Array, x: number) =>
      trace.map((v, k) => (Math.abs((k + 0.5) * lamb.dtS - x / cR - 0.12) < 0.1 ? v : 0));
    const lag = crossCorrelationLag(around(lamb.vz[1], 600), around(lamb.vz[0], 300), 400);
    const expected = 300 / cR / lamb.dtS;
    t.ok(
      Math.abs(lag - expected) < 1.5,
      `Rayleigh pulse 300 m on in ${lag.toFixed(2)} samples, ${expected.toFixed(2)} at ${cR.toFixed(1)} m/s (${((100 * (lag - expected)) / expected).toFixed(2)} %)`,
    );
    t.ok(
      Math.abs(lag - expected) / expected < 0.01,
      'the Rayleigh velocity is within 1 % of the Rayleigh equation',
    );
  },
);

t.test('energy does not grow in a long run with absorbing boundaries', async (t) => {
  const medium = gridFromModel(
    { layers: [{ thicknessM: 150, vpMS: 1800, vsMS: 600, densityKgM3: 1900 }, rock] },
    { widthM: 800, depthM: 400, spacingM: 5 },
  );
  const sim = simulate({
    medium,
    source: {
      xM: 400,
      zM: 100,
      mechanism: 'force',
      angleDeg: 30,
      wavelet: { kind: 'ricker', peakHz: 8 },
    },
    receivers: [],
    durationS: 4,
    energyEverySteps: 20,
  });
  const afterSource = sim.energy.filter((e) => e.step * sim.dtS > 0.3);
  const maxEnergy = Math.max(...sim.energy.map((e) => e.joules));
  let growth = 0;
  for (let k = 1; k < afterSource.length; k++) {
    growth = Math.max(growth, (afterSource[k].joules - afterSource[k - 1].joules) / maxEnergy);
  }
  t.ok(
    growth < 0.01,
    `largest rise between samples after the source: ${(100 * growth).toFixed(3)} % of the peak`,
  );
  const final = afterSource[afterSource.length - 1].joules / maxEnergy;
  t.ok(final < 0.01, `energy left after ${sim.steps} steps: ${(100 * final).toFixed(4)} % of the peak`);
});

t.test('a grid too coarse or a time step too long is refused with what to change', async (t) => {
  const medium = gridFromModel({ layers: [rock] }, { widthM: 200, depthM: 200, spacingM: 20 });
  t.throws(() => checkGrid(medium, ricker10), SimulationGridError);
  t.throws(() => checkGrid(medium, ricker10), /grid too coarse: 2\.31 points per shortest wavelength/);
  const fine = gridFromModel({ layers: [rock] }, { widthM: 200, depthM: 200, spacingM: 2 });
  const ok = checkGrid(fine, ricker10);
  t.equal(ok.dtS, (0.5 * 2) / 2000);
  t.throws(() => checkGrid(fine, ricker10, { dtS: 0.001 }), /unstable.*CFL limit 0\.606/);
  const fluid = gridFromModel(
    { layers: [{ thicknessM: 0, vpMS: 1500, vsMS: 0, densityKgM3: 1000 }] },
    { widthM: 200, depthM: 200, spacingM: 2 },
  );
  t.equal(checkGrid(fluid, ricker10).pointsPerWavelength, 1500 / 25 / 2, 'fluids resolve their P waves');
  const bad = gridFromModel(
    { layers: [{ thicknessM: 0, vpMS: 1500, vsMS: 1400, densityKgM3: 1000 }] },
    { widthM: 200, depthM: 200, spacingM: 2 },
  );
  t.throws(() => checkGrid(bad, ricker10), /not a physical elastic medium/);
});

t.test('a double couple radiates P in four lobes, none along its fault plane', async (t) => {
  const medium = gridFromModel(
    { layers: [rock] },
    { widthM: 1000, depthM: 1000, spacingM: 5, freeSurface: false },
  );
  const r = 300;
  const angles = [0, 45, 90, 135];
  const sim = simulate({
    medium,
    source: { xM: 500, zM: 500, mechanism: 'double-couple', angleDeg: 0, wavelet: ricker10 },
    receivers: angles.map((a) => ({
      xM: 500 + r * Math.cos((a * Math.PI) / 180),
      zM: 500 + r * Math.sin((a * Math.PI) / 180),
    })),
    durationS: 0.3,
  });
  // The P window: S comes 0.11 s later.
  const pAmplitude = (n: number) => {
    const a = (angles[n] * Math.PI) / 180;
    let peakRadial = 0;
    for (let k = 0; k < sim.steps; k++) {
      const time = (k + 0.5) * sim.dtS;
      if (Math.abs(time - r / rock.vpMS - 0.12) > 0.08) continue;
      peakRadial = Math.max(peakRadial, Math.abs(sim.vx[n][k] * Math.cos(a) + sim.vz[n][k] * Math.sin(a)));
    }
    return peakRadial;
  };
  const lobes = angles.map((_, n) => pAmplitude(n));
  t.ok(
    lobes[0] < 0.05 * lobes[1] && lobes[2] < 0.05 * lobes[1],
    `nodal: ${lobes.map((v) => v.toExponential(2))}`,
  );
  t.ok(Math.abs(lobes[3] / lobes[1] - 1) < 0.05, 'the two lobes alike');
});
