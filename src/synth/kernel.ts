/**
 * The velocity-stress finite-difference kernel of 2-D P-SV waves (Virieux 1986; Levander 1988):
 * a staggered grid, 4th order in space, 2nd order in time. Hand-written with typed arrays because
 * no JavaScript library simulates elastic waves; the loops allocate nothing. bench/synth.ts runs the
 * same loops compiled from C (bench/synth-kernel.c) to measure what this costs.
 *
 * Positions on cell (i, j), x = i h, z = j h: sxx, szz at (i, j); vx at (i + 1/2, j);
 * vz at (i, j + 1/2); sxz at (i + 1/2, j + 1/2). Every array is row-major, index j nx + i.
 */

export const C1 = 9 / 8;
export const C2 = -1 / 24;

export interface Wavefield {
  vx: Float32Array;
  vz: Float32Array;
  sxx: Float32Array;
  szz: Float32Array;
  sxz: Float32Array;
}

/** The medium's parameters where the kernel needs them, and the absorbing sponge. */
export interface StaggeredMedium {
  nx: number;
  nz: number;
  /** Buoyancy 1 / density at the vx and vz points (0 in vacuum). */
  bx: Float32Array;
  bz: Float32Array;
  /** lambda + 2 mu and lambda at the normal-stress points. */
  lam2mu: Float32Array;
  lam: Float32Array;
  /** mu at the shear-stress points: harmonic mean of the four nodes (0 next to fluid or vacuum). */
  muxz: Float32Array;
  /** Cerjan et al. (1985) damping factor per node, 1 inside. */
  damp: Float32Array;
}

export function newWavefield(size: number): Wavefield {
  return {
    vx: new Float32Array(size),
    vz: new Float32Array(size),
    sxx: new Float32Array(size),
    szz: new Float32Array(size),
    sxz: new Float32Array(size),
  };
}

/** v(n - 1/2) -> v(n + 1/2) from the stresses at n. `dtOverH` = dt / h. */
export function updateVelocity(w: Wavefield, m: StaggeredMedium, dtOverH: number): void {
  const { nx, nz, bx, bz, damp } = m;
  const { vx, vz, sxx, szz, sxz } = w;
  const nx2 = 2 * nx;
  for (let j = 2; j < nz - 2; j++) {
    const row = j * nx;
    for (let i = 2; i < nx - 2; i++) {
      const k = row + i;
      const dsxxDx = C1 * (sxx[k + 1] - sxx[k]) + C2 * (sxx[k + 2] - sxx[k - 1]);
      const dsxzDz = C1 * (sxz[k] - sxz[k - nx]) + C2 * (sxz[k + nx] - sxz[k - nx2]);
      vx[k] = damp[k] * (vx[k] + dtOverH * bx[k] * (dsxxDx + dsxzDz));
      const dsxzDx = C1 * (sxz[k] - sxz[k - 1]) + C2 * (sxz[k + 1] - sxz[k - 2]);
      const dszzDz = C1 * (szz[k + nx] - szz[k]) + C2 * (szz[k + nx2] - szz[k - nx]);
      vz[k] = damp[k] * (vz[k] + dtOverH * bz[k] * (dsxzDx + dszzDz));
    }
  }
}

/** sigma(n) -> sigma(n + 1) from the velocities at n + 1/2. */
export function updateStress(w: Wavefield, m: StaggeredMedium, dtOverH: number): void {
  const { nx, nz, lam2mu, lam, muxz, damp } = m;
  const { vx, vz, sxx, szz, sxz } = w;
  const nx2 = 2 * nx;
  for (let j = 2; j < nz - 2; j++) {
    const row = j * nx;
    for (let i = 2; i < nx - 2; i++) {
      const k = row + i;
      const dvxDx = C1 * (vx[k] - vx[k - 1]) + C2 * (vx[k + 1] - vx[k - 2]);
      const dvzDz = C1 * (vz[k] - vz[k - nx]) + C2 * (vz[k + nx] - vz[k - nx2]);
      const d = damp[k];
      sxx[k] = d * (sxx[k] + dtOverH * (lam2mu[k] * dvxDx + lam[k] * dvzDz));
      szz[k] = d * (szz[k] + dtOverH * (lam[k] * dvxDx + lam2mu[k] * dvzDz));
      const dvxDz = C1 * (vx[k + nx] - vx[k]) + C2 * (vx[k + nx2] - vx[k - nx]);
      const dvzDx = C1 * (vz[k + 1] - vz[k]) + C2 * (vz[k + 2] - vz[k - 1]);
      sxz[k] = d * (sxz[k] + dtOverH * muxz[k] * (dvxDz + dvzDx));
    }
  }
}
