import { PNG } from 'pngjs';
import type { Medium } from './medium.ts';
import type { Simulation } from './simulate.ts';

/**
 * A picture of one simulation, PNG (pngjs): the wavefield's vertical velocity at a few times over
 * the model (shades of grey by P velocity, vacuum white), and below, every receiver's vertical
 * seismogram with its P (red) and S (blue) labels.
 */

type Rgb = [number, number, number];

class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.png = new PNG({ width, height });
    this.png.data.fill(255);
  }

  set(x: number, y: number, [r, g, b]: Rgb, alpha = 1): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    const d = this.png.data;
    d[o] = d[o] * (1 - alpha) + r * alpha;
    d[o + 1] = d[o + 1] * (1 - alpha) + g * alpha;
    d[o + 2] = d[o + 2] * (1 - alpha) + b * alpha;
    d[o + 3] = 255;
  }

  line(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let s = 0; s <= steps; s++)
      this.set(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, color);
  }
}

/** Blue (negative) - white - red (positive), clipped at +-1. */
function polarity(value: number): Rgb {
  const v = Math.max(-1, Math.min(1, value));
  return v >= 0 ? [255, 255 * (1 - v), 255 * (1 - v)] : [255 * (1 + v), 255 * (1 + v), 255];
}

export interface ImageOptions {
  /** Pixels per grid cell in the snapshots (default: as many as fit 1600 px in width for two per row). */
  scale?: number;
  /** Labelled arrival times per receiver (seconds). */
  labels?: { pS: number[]; sS: number[] };
  receiverColumns?: number[];
  sourceNode?: { i: number; j: number };
}

export function simulationImage(medium: Medium, sim: Simulation, options: ImageOptions = {}): Buffer {
  const { nx, nz } = medium;
  const perRow = 2;
  const scale = options.scale ?? Math.max(0.25, Math.min(4, 780 / nx));
  const panelW = Math.ceil(nx * scale);
  const panelH = Math.ceil(nz * scale);
  const rows = Math.ceil(sim.snapshots.length / perRow);
  const sectionH = 420;
  const width = perRow * panelW + (perRow + 1) * 10;
  const height = rows * (panelH + 10) + 10 + sectionH + 10;
  const canvas = new Canvas(width, height);
  let vpMax = 0;
  for (const v of medium.vp) vpMax = Math.max(vpMax, v);
  // One clip for all snapshots: the 99.5th percentile of the largest one, so that late ones stay visible.
  const sample: number[] = [];
  for (const s of sim.snapshots) for (let k = 0; k < s.vz.length; k += 7) sample.push(Math.abs(s.vz[k]));
  sample.sort((a, b) => a - b);
  const clip = sample[Math.floor(0.995 * (sample.length - 1))] || 1;
  sim.snapshots.forEach((snapshot, n) => {
    const x0 = 10 + (n % perRow) * (panelW + 10);
    const y0 = 10 + Math.floor(n / perRow) * (panelH + 10);
    for (let py = 0; py < panelH; py++) {
      const j = Math.min(nz - 1, Math.floor(py / scale));
      for (let px = 0; px < panelW; px++) {
        const i = Math.min(nx - 1, Math.floor(px / scale));
        const k = j * nx + i;
        if (!(medium.density[k] > 0)) continue;
        const grey = 235 - 120 * (medium.vp[k] / vpMax);
        canvas.set(x0 + px, y0 + py, [grey, grey, grey]);
        const v = snapshot.vz[k] / clip;
        if (Math.abs(v) > 0.02) canvas.set(x0 + px, y0 + py, polarity(v), Math.min(1, Math.abs(v) * 2));
      }
    }
    for (const i of options.receiverColumns ?? [])
      canvas.line(x0 + i * scale, y0, x0 + i * scale, y0 + 3, [0, 0, 0]);
    if (options.sourceNode) {
      const { i, j } = options.sourceNode;
      canvas.line(x0 + i * scale - 3, y0 + j * scale, x0 + i * scale + 3, y0 + j * scale, [0, 0, 0]);
      canvas.line(x0 + i * scale, y0 + j * scale - 3, x0 + i * scale, y0 + j * scale + 3, [0, 0, 0]);
    }
  });
  // Record section: one trace per receiver, each scaled to its own peak, time left to right.
  const top = rows * (panelH + 10) + 10;
  const left = 10;
  const sectionW = width - 20;
  const traces = sim.vz;
  const spacing = sectionH / (traces.length + 1);
  const durationS = sim.steps * sim.dtS;
  const toX = (t: number) => left + (t / durationS) * sectionW;
  traces.forEach((trace, r) => {
    const base = top + spacing * (r + 1);
    let peak = 0;
    for (const v of trace) peak = Math.max(peak, Math.abs(v));
    const stride = Math.max(1, Math.floor(trace.length / (4 * sectionW)));
    let [px, py] = [toX(sim.firstSampleS), base];
    for (let k = 0; k < trace.length; k += stride) {
      const x = toX(sim.firstSampleS + k * sim.dtS);
      const y = base - (0.6 * spacing * trace[k]) / (peak || 1);
      canvas.line(px, py, x, y, [0, 0, 0]);
      [px, py] = [x, y];
    }
    if (options.labels) {
      const p = toX(options.labels.pS[r]);
      const s = toX(options.labels.sS[r]);
      canvas.line(p, base - 0.45 * spacing, p, base + 0.45 * spacing, [220, 0, 0]);
      canvas.line(s, base - 0.45 * spacing, s, base + 0.45 * spacing, [0, 0, 220]);
    }
  });
  return PNG.sync.write(canvas.png);
}
