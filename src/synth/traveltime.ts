import type { Medium } from './medium.ts';

/**
 * First-arrival times on the simulation grid, independent of the waveforms: shortest paths
 * (Dijkstra) through a "forward star" of edges to every node within `radius` cells whose offset is
 * not a multiple of a shorter one (Moser 1991). Each edge's time is its length times the mean
 * slowness of bilinear samples along it; edges through vacuum do not exist. With radius 5 the
 * directions are at most 5.7 degrees apart and times at most 0.5 % long in a homogeneous medium.
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
  const { nx, nz, spacingM } = medium;
  const slowness = new Float64Array(nx * nz);
  for (let k = 0; k < slowness.length; k++) {
    slowness[k] = speed[k] > 0 && medium.density[k] > 0 ? 1 / speed[k] : Number.POSITIVE_INFINITY;
  }
  const sampleSlowness = (x: number, z: number): number => {
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
      sum += weight * slowness[(j0 + (c >> 1)) * nx + i0 + (c & 1)];
    }
    return sum;
  };
  const edges = forwardStar(radius);
  const times = new Float64Array(nx * nz).fill(Number.POSITIVE_INFINITY);
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
        heap.push(time, target);
      }
    }
  }
  return times;
}

/** Speeds of the S arrival: vs, and vp in fluids, through which S travels converted to P. */
export function sArrivalSpeed(medium: Medium): Float32Array {
  const out = new Float32Array(medium.vs.length);
  for (let k = 0; k < out.length; k++) out[k] = medium.vs[k] > 0 ? medium.vs[k] : medium.vp[k];
  return out;
}
