import { SimulationGridError } from '../errors.ts';
import {
  C1,
  C2,
  newWavefield,
  type StaggeredMedium,
  updateStress,
  updateVelocity,
  type Wavefield,
} from './kernel.ts';
import { type Medium, nodeAt } from './medium.ts';
import { type Wavelet, waveletMaxHz, waveletValue } from './wavelet.ts';

export interface PointSource {
  xM: number;
  zM: number;
  /**
   * `explosion`: isotropic moment; `force`: a point force; `double-couple`: slip on a fault (an
   * earthquake) dipping `angleDeg` from the x axis (moment Mxx = -sin 2a, Mzz = sin 2a, Mxz = cos 2a).
   */
  mechanism: 'explosion' | 'force' | 'double-couple';
  /** Direction of a force, degrees from downward vertical towards +x, or the fault's dip (default 0). */
  angleDeg?: number;
  wavelet: Wavelet;
  /** Scalar moment (N m per m, a line source) or force (N per m); default 1. */
  amplitude?: number;
}

export interface Receiver {
  xM: number;
  zM: number;
}

export interface SimulationSetup {
  medium: Medium;
  source: PointSource;
  receivers: Receiver[];
  durationS: number;
  /** Default: 0.5 h / vpMax (Courant 0.5, 82 % of the stability limit). */
  dtS?: number;
  /** Sponge width in cells on the absorbing sides (default 30). */
  spongeCells?: number;
  /** Grid points per shortest wavelength at the wavelet's highest frequency (default 6). */
  minPointsPerWavelength?: number;
  /** Keep a copy of vx and vz this often. */
  snapshotEveryS?: number;
  /** Record the total energy of the grid every this many steps. */
  energyEverySteps?: number;
}

export interface Snapshot {
  timeS: number;
  vx: Float32Array;
  vz: Float32Array;
}

export interface Simulation {
  dtS: number;
  steps: number;
  /** Time of sample 0 of the traces: velocities live at half steps. */
  firstSampleS: number;
  /** Velocity per receiver (m/s per unit amplitude), one sample per step. */
  vx: Float32Array[];
  vz: Float32Array[];
  snapshots: Snapshot[];
  /** Kinetic plus strain energy (J per m) and the step it was taken at. */
  energy: { step: number; joules: number }[];
  /** Grid points per shortest wavelength and the time step's fraction of the stability limit. */
  pointsPerWavelength: number;
  courantFraction: number;
}

/** The stability limit of dt h^-1 vp for the 4th-order staggered grid in 2-D: 1 / (sqrt 2 (|c1| + |c2|)). */
export const STABILITY_LIMIT = 1 / (Math.SQRT2 * (Math.abs(C1) + Math.abs(C2)));

export interface GridCheck {
  dtS: number;
  pointsPerWavelength: number;
  courantFraction: number;
}

/**
 * The time step, and whether the grid resolves the wavelet: the CFL condition for the fastest P
 * velocity and, for numerical dispersion, enough points per wavelength of the slowest wave (S, or P
 * in fluids) at the wavelet's highest frequency. Throws SimulationGridError otherwise.
 */
export function checkGrid(
  medium: Medium,
  wavelet: Wavelet,
  options: { dtS?: number; minPointsPerWavelength?: number } = {},
): GridCheck {
  let vpMax = 0;
  let slowest = Number.POSITIVE_INFINITY;
  for (let k = 0; k < medium.vp.length; k++) {
    const vp = medium.vp[k];
    if (!(medium.density[k] > 0)) continue;
    if (!(vp > 0) || medium.vs[k] < 0 || medium.vs[k] >= vp / Math.SQRT2) {
      throw new SimulationGridError(
        `the medium has vp ${vp} m/s and vs ${medium.vs[k]} m/s at a grid node: not a physical elastic medium`,
        { hint: 'each layer needs vp > 0 and 0 <= vs < vp / sqrt(2)' },
      );
    }
    vpMax = Math.max(vpMax, vp);
    slowest = Math.min(slowest, medium.vs[k] > 0 ? medium.vs[k] : vp);
  }
  if (vpMax === 0) throw new SimulationGridError('the medium holds no material (all vacuum)');
  const h = medium.spacingM;
  const fMax = waveletMaxHz(wavelet);
  const pointsPerWavelength = slowest / fMax / h;
  const minPoints = options.minPointsPerWavelength ?? 6;
  if (pointsPerWavelength < minPoints) {
    const spacing = slowest / fMax / minPoints;
    throw new SimulationGridError(
      `grid too coarse: ${pointsPerWavelength.toFixed(2)} points per shortest wavelength (${slowest} m/s at ${fMax.toFixed(2)} Hz, spacing ${h} m); at least ${minPoints} are needed against numerical dispersion`,
      {
        hint: `use a grid spacing of at most ${spacing.toPrecision(3)} m, or a wavelet whose highest frequency is below ${(slowest / h / minPoints).toPrecision(3)} Hz`,
      },
    );
  }
  const dtS = options.dtS ?? (0.5 * h) / vpMax;
  const courantFraction = (dtS * vpMax) / h / STABILITY_LIMIT;
  if (!(dtS > 0) || courantFraction > 1) {
    throw new SimulationGridError(
      `time step ${dtS} s is unstable: vp ${vpMax} m/s x dt / spacing ${h} m = ${((dtS * vpMax) / h).toFixed(3)} exceeds the CFL limit ${STABILITY_LIMIT.toFixed(3)}`,
      { hint: `use a time step of at most ${((STABILITY_LIMIT * h) / vpMax).toPrecision(3)} s` },
    );
  }
  return { dtS, pointsPerWavelength, courantFraction };
}

/** The sponge: exp(-(a (W - k))^2) over the W cells next to each absorbing side, 0.914 at the edge. */
function spongeFactors(n: number, width: number, absorbStart: boolean): Float32Array {
  const out = new Float32Array(n).fill(1);
  const a = 0.3 / width;
  for (let k = 0; k < width && k < n; k++) {
    const f = Math.exp(-((a * (width - k)) ** 2));
    if (absorbStart) out[k] = f;
    out[n - 1 - k] = Math.min(out[n - 1 - k], f);
  }
  return out;
}

export function staggeredMedium(medium: Medium, spongeCells: number): StaggeredMedium {
  const { nx, nz, vp, vs, density } = medium;
  const size = nx * nz;
  const lam2mu = new Float32Array(size);
  const lam = new Float32Array(size);
  const mu = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    lam2mu[k] = density[k] * vp[k] * vp[k];
    mu[k] = density[k] * vs[k] * vs[k];
    lam[k] = lam2mu[k] - 2 * mu[k];
  }
  const bx = new Float32Array(size);
  const bz = new Float32Array(size);
  const muxz = new Float32Array(size);
  const buoyancy = (a: number, b: number) => (a + b > 0 ? 2 / (a + b) : 0);
  for (let j = 0; j < nz; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const right = i + 1 < nx ? k + 1 : k;
      const down = j + 1 < nz ? k + nx : k;
      const diagonal = i + 1 < nx && j + 1 < nz ? k + nx + 1 : k;
      bx[k] = buoyancy(density[k], density[right]);
      bz[k] = buoyancy(density[k], density[down]);
      const m = [mu[k], mu[right], mu[down], mu[diagonal]];
      muxz[k] = m.every((v) => v > 0) ? 4 / m.reduce((s, v) => s + 1 / v, 0) : 0;
    }
  }
  const dampX = spongeFactors(nx, spongeCells, true);
  const dampZ = spongeFactors(nz, spongeCells, !medium.freeSurface);
  const damp = new Float32Array(size);
  for (let j = 0; j < nz; j++) for (let i = 0; i < nx; i++) damp[j * nx + i] = dampX[i] * dampZ[j];
  return { nx, nz, bx, bz, lam2mu, lam, muxz, damp };
}

/** Kinetic plus strain energy per metre of line (plane strain, stresses and strains at the nodes). */
export function wavefieldEnergy(w: Wavefield, medium: Medium): number {
  const { vp, vs, density } = medium;
  let sum = 0;
  for (let k = 0; k < density.length; k++) {
    const rho = density[k];
    if (!(rho > 0)) continue;
    sum += 0.5 * rho * (w.vx[k] * w.vx[k] + w.vz[k] * w.vz[k]);
    const mu = rho * vs[k] * vs[k];
    const lam = rho * vp[k] * vp[k] - 2 * mu;
    if (mu > 0) {
      // Strain energy sigma : eps / 2 with the plane-strain compliance.
      const sxx = w.sxx[k];
      const szz = w.szz[k];
      const normal = ((lam + 2 * mu) * (sxx * sxx + szz * szz) - 2 * lam * sxx * szz) / (8 * mu * (lam + mu));
      sum += normal + (w.sxz[k] * w.sxz[k]) / (2 * mu);
    } else {
      const p = 0.5 * (w.sxx[k] + w.szz[k]);
      sum += (p * p) / (2 * lam);
    }
  }
  return sum * medium.spacingM * medium.spacingM;
}

function insideInterior(medium: Medium, i: number, j: number, what: string): void {
  if (i < 2 || j < 2 || i > medium.nx - 3 || j > medium.nz - 3) {
    throw new SimulationGridError(`${what} at grid node (${i}, ${j}) lies outside the grid's interior`, {
      hint: 'place sources and receivers at least two cells inside the grid (and outside the sponge)',
    });
  }
}

/** Runs the simulation: one velocity and one stress update per step, the source injected on the grid. */
export function simulate(setup: SimulationSetup): Simulation {
  const { medium, source, receivers, durationS } = setup;
  const { nx, spacingM: h } = medium;
  const check = checkGrid(medium, source.wavelet, setup);
  const { dtS } = check;
  const staggered = staggeredMedium(medium, setup.spongeCells ?? 30);
  const w = newWavefield(nx * medium.nz);
  const steps = Math.ceil(durationS / dtS);
  const dtOverH = dtS / h;

  const at = nodeAt(medium, source.xM, source.zM);
  insideInterior(medium, at.i, at.j, 'the source');
  const ks = at.j * nx + at.i;
  if (!(medium.density[ks] > 0)) {
    throw new SimulationGridError(`the source at x ${source.xM} m, z ${source.zM} m lies above the surface`);
  }
  const amplitude = source.amplitude ?? 1;
  const angle = ((source.angleDeg ?? 0) * Math.PI) / 180;
  const receiverNodes = receivers.map((r) => {
    const node = nodeAt(medium, r.xM, r.zM);
    insideInterior(medium, node.i, node.j, `the receiver at x ${r.xM} m, z ${r.zM} m`);
    return node.j * nx + node.i;
  });
  const vxTraces = receivers.map(() => new Float32Array(steps));
  const vzTraces = receivers.map(() => new Float32Array(steps));
  const snapshots: Snapshot[] = [];
  const energy: { step: number; joules: number }[] = [];
  const snapshotEvery = setup.snapshotEveryS ? Math.max(1, Math.round(setup.snapshotEveryS / dtS)) : 0;

  for (let n = 0; n < steps; n++) {
    updateVelocity(w, staggered, dtOverH);
    if (source.mechanism === 'force') {
      // A force at the node: half on each of the two velocity points around it.
      const f = (0.5 * dtS * amplitude * waveletValue(source.wavelet, n * dtS)) / (h * h);
      const fx = f * Math.sin(angle);
      const fz = f * Math.cos(angle);
      w.vx[ks] += fx * staggered.bx[ks];
      w.vx[ks - 1] += fx * staggered.bx[ks - 1];
      w.vz[ks] += fz * staggered.bz[ks];
      w.vz[ks - nx] += fz * staggered.bz[ks - nx];
    }
    for (let r = 0; r < receiverNodes.length; r++) {
      const k = receiverNodes[r];
      vxTraces[r][n] = 0.5 * (w.vx[k] + w.vx[k - 1]);
      vzTraces[r][n] = 0.5 * (w.vz[k] + w.vz[k - nx]);
    }
    if (snapshotEvery && (n + 1) % snapshotEvery === 0) {
      snapshots.push({ timeS: (n + 0.5) * dtS, vx: w.vx.slice(), vz: w.vz.slice() });
    }
    updateStress(w, staggered, dtOverH);
    if (source.mechanism !== 'force') {
      // Stress glut: sigma -= M(t) delta(x); an explosion's positive moment pushes outwards.
      const m = (dtS * amplitude * waveletValue(source.wavelet, (n + 0.5) * dtS)) / (h * h);
      if (source.mechanism === 'explosion') {
        w.sxx[ks] -= m;
        w.szz[ks] -= m;
      } else {
        const sin2 = Math.sin(2 * angle);
        w.sxx[ks] += m * sin2;
        w.szz[ks] -= m * sin2;
        // Shear stress lives at the cell corners: a quarter on each of the four around the node.
        const shear = 0.25 * m * Math.cos(2 * angle);
        w.sxz[ks] -= shear;
        w.sxz[ks - 1] -= shear;
        w.sxz[ks - nx] -= shear;
        w.sxz[ks - nx - 1] -= shear;
      }
    }
    if (setup.energyEverySteps && n % setup.energyEverySteps === 0) {
      energy.push({ step: n, joules: wavefieldEnergy(w, medium) });
    }
  }
  return {
    dtS,
    steps,
    firstSampleS: 0.5 * dtS,
    vx: vxTraces,
    vz: vzTraces,
    snapshots,
    energy,
    pointsPerWavelength: check.pointsPerWavelength,
    courantFraction: check.courantFraction,
  };
}
