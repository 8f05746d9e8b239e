/**
 * Layered elastic media on the simulation grid. Depth `z` is measured down from a datum (z = 0);
 * topography raises the free surface above it (elevation > 0) and layers are flat below it, the
 * first one filling the hills. Above the free surface the grid holds vacuum (zero density and
 * moduli): the finite-difference kernel then needs no special boundary code for topography.
 */

export interface Layer {
  /** Thickness; the last layer is a half-space and its thickness is ignored. */
  thicknessM: number;
  vpMS: number;
  /** 0 for a fluid (P-only) layer. */
  vsMS: number;
  densityKgM3: number;
}

export interface LayeredModel {
  layers: Layer[];
  /** Free-surface elevation above the datum, piecewise linear in x (flat at 0 when absent). */
  topography?: { xM: number; elevationM: number }[];
}

/** A medium sampled on a square grid, row-major (`z` rows of `x` columns), row 0 at the top. */
export interface Medium {
  nx: number;
  nz: number;
  spacingM: number;
  /** Depth below the datum of row 0 (negative where vacuum rows above the datum hold topography). */
  zOriginM: number;
  /** A free surface at the top (vacuum above it); without one the top boundary absorbs too. */
  freeSurface: boolean;
  vp: Float32Array;
  vs: Float32Array;
  density: Float32Array;
}

export interface GridOptions {
  widthM: number;
  /** Depth of the grid below the datum. */
  depthM: number;
  spacingM: number;
  /** true (default): vacuum above the surface; false: the top layer extends up and out (full space). */
  freeSurface?: boolean;
}

/** Vacuum rows kept above the highest point of the surface: the 4th-order stencil reaches two cells. */
const VACUUM_ROWS = 3;

/** Elevation of the free surface at `xM` (linear between the points, constant beyond the ends). */
export function elevationAt(model: LayeredModel, xM: number): number {
  const points = model.topography;
  if (!points || points.length === 0) return 0;
  if (xM <= points[0].xM) return points[0].elevationM;
  for (let p = 1; p < points.length; p++) {
    const a = points[p - 1];
    const b = points[p];
    if (xM <= b.xM) return a.elevationM + ((b.elevationM - a.elevationM) * (xM - a.xM)) / (b.xM - a.xM);
  }
  return points[points.length - 1].elevationM;
}

/** The layer at depth `zM` below the datum (the first layer above the datum). */
export function layerAt(model: LayeredModel, zM: number): Layer {
  let top = 0;
  for (let l = 0; l < model.layers.length - 1; l++) {
    top += model.layers[l].thicknessM;
    if (zM < top) return model.layers[l];
  }
  return model.layers[model.layers.length - 1];
}

export function gridFromModel(model: LayeredModel, options: GridOptions): Medium {
  const { widthM, depthM, spacingM } = options;
  const freeSurface = options.freeSurface ?? true;
  const nx = Math.round(widthM / spacingM) + 1;
  let topRows = 0;
  if (freeSurface) {
    let highest = 0;
    for (let i = 0; i < nx; i++) highest = Math.max(highest, elevationAt(model, i * spacingM));
    topRows = Math.ceil(highest / spacingM) + VACUUM_ROWS;
  }
  const nz = topRows + Math.round(depthM / spacingM) + 1;
  const zOriginM = -topRows * spacingM;
  const vp = new Float32Array(nx * nz);
  const vs = new Float32Array(nx * nz);
  const density = new Float32Array(nx * nz);
  for (let i = 0; i < nx; i++) {
    const surfaceZ = freeSurface ? -elevationAt(model, i * spacingM) : Number.NEGATIVE_INFINITY;
    for (let j = 0; j < nz; j++) {
      const z = zOriginM + j * spacingM;
      if (z < surfaceZ - 1e-9) continue;
      const layer = layerAt(model, z);
      const k = j * nx + i;
      vp[k] = layer.vpMS;
      vs[k] = layer.vsMS;
      density[k] = layer.densityKgM3;
    }
  }
  return { nx, nz, spacingM, zOriginM, freeSurface, vp, vs, density };
}

/** The grid node nearest to (xM, zM), clamped into the grid. */
export function nodeAt(medium: Medium, xM: number, zM: number): { i: number; j: number } {
  const i = Math.min(medium.nx - 1, Math.max(0, Math.round(xM / medium.spacingM)));
  const j = Math.min(medium.nz - 1, Math.max(0, Math.round((zM - medium.zOriginM) / medium.spacingM)));
  return { i, j };
}

/** The first non-vacuum node of column `i` from the top: where a surface receiver sits. */
export function surfaceRow(medium: Medium, i: number): number {
  for (let j = 0; j < medium.nz; j++) if (medium.density[j * medium.nx + i] > 0) return j;
  return medium.nz - 1;
}
