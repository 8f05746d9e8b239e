import { elevationAt, type Layer, type LayeredModel, type Medium } from './medium.ts';

/**
 * First-arrival times on the simulation grid, independent of the waveforms: shortest paths
 * (Dijkstra) through a "forward star" of edges to every node within `radius` cells whose offset is
 * not a multiple of a shorter one (Moser 1991). Each edge's time is its length times the mean
 * slowness of bilinear samples along it; edges through vacuum do not exist. With radius 5 the
 * directions are at most 5.7 degrees apart and times at most 0.5 % long in a homogeneous medium.
 * `arrivalTimes` then straightens and bends the shortest path to each receiver (ray bending), which
 * removes that angular error, through the layered model itself where it is given (exact interfaces
 * rather than the grid's, whose rows can lie half a cell off them): labels within a few ms.
 * Hand-written: no npm package computes seismic travel times on a grid.
 */

interface StarEdge {
  di: number;
  dj: number;
  lengthCells: number;
  /** Fractional sample points along the edge (in cells from its start). */
  samples: Float64Array;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function forwardStar(radius: number): StarEdge[] {
  const edges: StarEdge[] = [];
  for (let dj = -radius; dj <= radius; dj++) {
    for (let di = -radius; di <= radius; di++) {
      if ((di === 0 && dj === 0) || gcd(Math.abs(di), Math.abs(dj)) !== 1) continue;
      const count = Math.max(Math.abs(di), Math.abs(dj));
      const samples = new Float64Array(2 * count);
      for (let s = 0; s < count; s++) {
        const f = (s + 0.5) / count;
        samples[2 * s] = f * di;
        samples[2 * s + 1] = f * dj;
      }
      edges.push({ di, dj, lengthCells: Math.hypot(di, dj), samples });
    }
  }
  return edges;
}

/** A binary min-heap of (time, node), with stale entries skipped on pop. */
class NodeHeap {
  private times = new Float64Array(1024);
  private nodes = new Int32Array(1024);
  size = 0;

  push(time: number, node: number): void {
    if (this.size === this.times.length) {
      const times = new Float64Array(this.size * 2);
      times.set(this.times);
      const nodes = new Int32Array(this.size * 2);
      nodes.set(this.nodes);
      this.times = times;
      this.nodes = nodes;
    }
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.times[parent] <= time) break;
      this.times[at] = this.times[parent];
      this.nodes[at] = this.nodes[parent];
      at = parent;
    }
    this.times[at] = time;
    this.nodes[at] = node;
  }

  /** Removes the earliest entry; returns its node (its time is `lastTime`). */
  pop(): number {
    const node = this.nodes[0];
    this.lastTime = this.times[0];
    const time = this.times[--this.size];
    const last = this.nodes[this.size];
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.times[child + 1] < this.times[child]) child++;
      if (this.times[child] >= time) break;
      this.times[at] = this.times[child];
      this.nodes[at] = this.nodes[child];
      at = child;
    }
    this.times[at] = time;
    this.nodes[at] = last;
    return node;
  }

  lastTime = 0;
}

/**
 * Travel time from node (i, j) to every node for wave speed `speed` (m/s per node; 0 or vacuum:
 * no path). Returns seconds per node, Infinity where unreachable.
 */
export function travelTimes(
  medium: Medium,
  speed: Float32Array,
  source: { i: number; j: number },
  radius = 5,
): Float64Array {
  return shortestPaths(medium, speed, source, radius).times;
}

/** Slowness per node (s/m), Infinity in vacuum or where the speed is 0. */
function slownessField(medium: Medium, speed: Float32Array): Float64Array {
  const slowness = new Float64Array(medium.nx * medium.nz);
  for (let k = 0; k < slowness.length; k++) {
    slowness[k] = speed[k] > 0 && medium.density[k] > 0 ? 1 / speed[k] : Number.POSITIVE_INFINITY;
  }
  return slowness;
}

/** Bilinear slowness at (x, z) in cells; Infinity outside the grid or next to vacuum. */
function bilinear(slowness: Float64Array, nx: number, nz: number, x: number, z: number): number {
  const i0 = Math.floor(x);
  const j0 = Math.floor(z);
  const fx = x - i0;
  const fz = z - j0;
  let sum = 0;
  for (let c = 0; c < 4; c++) {
    const wx = c & 1 ? fx : 1 - fx;
    const wz = c & 2 ? fz : 1 - fz;
    const weight = wx * wz;
    if (weight === 0) continue;
    const i = i0 + (c & 1);
    const j = j0 + (c >> 1);
    if (i < 0 || j < 0 || i >= nx || j >= nz) return Number.POSITIVE_INFINITY;
    sum += weight * slowness[j * nx + i];
  }
  return sum;
}

function shortestPaths(
  medium: Medium,
  speed: Float32Array,
  source: { i: number; j: number },
  radius: number,
): { times: Float64Array; parents: Int32Array } {
  const { nx, nz, spacingM } = medium;
  const slowness = slownessField(medium, speed);
  const sampleSlowness = (x: number, z: number) => bilinear(slowness, nx, nz, x, z);
  const edges = forwardStar(radius);
  const times = new Float64Array(nx * nz).fill(Number.POSITIVE_INFINITY);
  const parents = new Int32Array(nx * nz).fill(-1);
  const done = new Uint8Array(nx * nz);
  const heap = new NodeHeap();
  const start = source.j * nx + source.i;
  times[start] = 0;
  heap.push(0, start);
  while (heap.size > 0) {
    const node = heap.pop();
    if (done[node]) continue;
    done[node] = 1;
    const base = heap.lastTime;
    const i = node % nx;
    const j = (node - i) / nx;
    for (const edge of edges) {
      const ti = i + edge.di;
      const tj = j + edge.dj;
      if (ti < 0 || tj < 0 || ti >= nx || tj >= nz) continue;
      const target = tj * nx + ti;
      if (done[target] || slowness[target] === Number.POSITIVE_INFINITY) continue;
      const { samples } = edge;
      let sum = 0;
      for (let s = 0; s < samples.length; s += 2) sum += sampleSlowness(i + samples[s], j + samples[s + 1]);
      const time = base + (sum / (samples.length / 2)) * edge.lengthCells * spacingM;
      if (time < times[target]) {
        times[target] = time;
        parents[target] = node;
        heap.push(time, target);
      }
    }
  }
  return { times, parents };
}

/** Samples per cell of length when a ray segment's slowness is integrated (midpoint rule). */
const SAMPLES_PER_CELL = 4;

/** Time along the straight segment a -> b (points in cells), in s per metre of cell. */
function gridSegmentTime(
  slowness: Float64Array,
  nx: number,
  nz: number,
  ax: number,
  az: number,
  bx: number,
  bz: number,
): number {
  const length = Math.hypot(bx - ax, bz - az);
  if (length === 0) return 0;
  const count = Math.max(1, Math.ceil(length * SAMPLES_PER_CELL));
  let sum = 0;
  for (let s = 0; s < count; s++) {
    const f = (s + 0.5) / count;
    sum += bilinear(slowness, nx, nz, ax + f * (bx - ax), az + f * (bz - az));
  }
  return (sum / count) * length;
}

/**
 * Ray bending of a polyline (points in cells, ends fixed): first the shortest path is pulled
 * straight (each vertex joined to the farthest later one whose straight segment is no slower than
 * the path between them), then every interior vertex is moved by shrinking steps while the total
 * time falls. Returns the time in the unit of `time`.
 */
function bend(time: (a: number[], b: number[]) => number, path: number[][]): number {
  const along = [0];
  for (let k = 1; k < path.length; k++) along.push(along[k - 1] + time(path[k - 1], path[k]));
  const pulled = [path[0]];
  for (let a = 0; a < path.length - 1; ) {
    let next = a + 1;
    for (let b = path.length - 1; b > a + 1; b--) {
      if (time(path[a], path[b]) <= along[b] - along[a] + 1e-9) {
        next = b;
        break;
      }
    }
    pulled.push(path[next]);
    a = next;
  }
  // Midpoints give a straightened path vertices to curve with (gradients, interfaces).
  const points: number[][] = [pulled[0]];
  for (let k = 1; k < pulled.length; k++) {
    const [a, b] = [pulled[k - 1], pulled[k]];
    const pieces = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / 8));
    for (let p = 1; p <= pieces; p++) {
      points.push([a[0] + ((b[0] - a[0]) * p) / pieces, a[1] + ((b[1] - a[1]) * p) / pieces]);
    }
  }
  const moves = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ];
  for (let step = 0.5; step >= 1 / 128; step /= 2) {
    for (let pass = 0, moved = true; moved && pass < 50; pass++) {
      moved = false;
      for (let k = 1; k < points.length - 1; k++) {
        const [prev, point, next] = [points[k - 1], points[k], points[k + 1]];
        let best = time(prev, point) + time(point, next);
        for (const [dx, dz] of moves) {
          const trial = [point[0] + step * dx, point[1] + step * dz];
          const t = time(prev, trial) + time(trial, next);
          if (t < best - 1e-15) {
            best = t;
            point[0] = trial[0];
            point[1] = trial[1];
            moved = true;
          }
        }
      }
    }
  }
  let total = 0;
  for (let k = 1; k < points.length; k++) total += time(points[k - 1], points[k]);
  return Math.min(total, along[along.length - 1]);
}

/** Time (s) along a straight segment between two points (in cells of the grid). */
export type SegmentTime = (a: number[], b: number[]) => number;

/**
 * Exact segment times through a layered model (flat layers below the datum, vacuum above the
 * topography) for the grid `medium` was made on: each layer's share of the segment's depth range
 * times its slowness; Infinity for a segment that leaves the ground. `speedOf` is the wave's speed
 * in a layer (vp for P; vs, or vp in fluids, for S).
 */
export function layeredSegmentTime(
  model: LayeredModel,
  medium: Medium,
  speedOf: (layer: Layer) => number,
): SegmentTime {
  const { spacingM, zOriginM } = medium;
  const tops: number[] = [Number.NEGATIVE_INFINITY];
  let depth = 0;
  for (const layer of model.layers.slice(0, -1)) {
    depth += layer.thicknessM;
    tops.push(depth);
  }
  const slowness = model.layers.map((layer) => 1 / speedOf(layer));
  const slownessAt = (z: number) => {
    let l = tops.length - 1;
    while (z < tops[l]) l--;
    return slowness[l];
  };
  const belowSurface = (x: number, z: number) => z >= -elevationAt(model, x) - 1e-6;
  return (a, b) => {
    const [ax, az, bx, bz] = [
      a[0] * spacingM,
      zOriginM + a[1] * spacingM,
      b[0] * spacingM,
      zOriginM + b[1] * spacingM,
    ];
    const length = Math.hypot(bx - ax, bz - az);
    if (length === 0) return 0;
    if (medium.freeSurface) {
      // A flat surface is left only by an end; hills are checked along the segment.
      const checks = model.topography ? Math.ceil((4 * length) / spacingM) : 1;
      for (let c = 0; c <= checks; c++) {
        const f = c / checks;
        if (!belowSurface(ax + f * (bx - ax), az + f * (bz - az))) return Number.POSITIVE_INFINITY;
      }
    }
    const [lo, hi] = az < bz ? [az, bz] : [bz, az];
    if (hi === lo) return length * slownessAt(lo);
    let sum = 0;
    for (let l = 0; l < tops.length; l++) {
      const bottom = l + 1 < tops.length ? tops[l + 1] : Number.POSITIVE_INFINITY;
      const overlap = Math.min(hi, bottom) - Math.max(lo, tops[l]);
      if (overlap > 0) sum += overlap * slowness[l];
    }
    return (sum / (hi - lo)) * length;
  };
}

/**
 * First-arrival times (s) from node `source` to each of `targets` for wave speed `speed`: the
 * shortest path on the grid, straightened and bent (see the top of this file) with `segmentTime`
 * (default: the grid's bilinear slowness). Infinity where a target cannot be reached.
 */
export function arrivalTimes(
  medium: Medium,
  speed: Float32Array,
  source: { i: number; j: number },
  targets: { i: number; j: number }[],
  segmentTime?: SegmentTime,
  radius = 5,
): number[] {
  const { nx, nz, spacingM } = medium;
  const { times, parents } = shortestPaths(medium, speed, source, radius);
  const slowness = slownessField(medium, speed);
  const time: SegmentTime =
    segmentTime ?? ((a, b) => gridSegmentTime(slowness, nx, nz, a[0], a[1], b[0], b[1]) * spacingM);
  return targets.map(({ i, j }) => {
    let node = j * nx + i;
    if (!Number.isFinite(times[node])) return Number.POSITIVE_INFINITY;
    const path: number[][] = [];
    for (; node >= 0; node = parents[node]) path.push([node % nx, Math.floor(node / nx)]);
    path.reverse();
    return bend(time, path);
  });
}

/** Speeds of the S arrival: vs, and vp in fluids, through which S travels converted to P. */
export function sArrivalSpeed(medium: Medium): Float32Array {
  const out = new Float32Array(medium.vs.length);
  for (let k = 0; k < out.length; k++) out[k] = medium.vs[k] > 0 ? medium.vs[k] : medium.vp[k];
  return out;
}
