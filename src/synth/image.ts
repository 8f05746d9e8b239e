import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Medium } from './medium.ts';
import type { Simulation } from './simulate.ts';

/**
 * A picture of one simulation, PNG: the wavefield's vertical velocity at a few times over the model
 * (shades of grey by P velocity, vacuum white; blue-white-red by polarity, with its colour bar), with
 * distance and depth axes in km and each snapshot's time; below, every receiver's vertical seismogram
 * over a time axis in seconds with its P (red) and S (blue) labels; and a legend. Drawn with
 * @napi-rs/canvas (Skia: text, lines, PNG encoding) on the system's fonts.
 */

type Rgb = [number, number, number];

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

/** A round step for about `count` ticks over `span`: 1, 2 or 5 times a power of ten. */
export function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? 10 * power;
}

const FONT = '12px "Liberation Sans", "DejaVu Sans", sans-serif';
const MARGIN = { left: 56, right: 16, top: 24, gap: 40 };

export function simulationImage(medium: Medium, sim: Simulation, options: ImageOptions = {}): Buffer {
  const { nx, nz, spacingM } = medium;
  const perRow = 2;
  const scale = options.scale ?? Math.max(0.25, Math.min(4, 780 / nx));
  const panelW = Math.ceil(nx * scale);
  const panelH = Math.ceil(nz * scale);
  const rows = Math.ceil(sim.snapshots.length / perRow);
  const sectionH = 420;
  const legendH = 60;
  const width = MARGIN.left + perRow * panelW + (perRow - 1) * MARGIN.left + MARGIN.right;
  const sectionTop = MARGIN.top + rows * (panelH + MARGIN.gap + MARGIN.top);
  const height = sectionTop + sectionH + MARGIN.gap + legendH;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.font = FONT;

  let vpMax = 0;
  for (const v of medium.vp) vpMax = Math.max(vpMax, v);
  // One clip for all snapshots: the 99.5th percentile of the largest one, so that late ones stay visible.
  const sample: number[] = [];
  for (const s of sim.snapshots) for (let k = 0; k < s.vz.length; k += 7) sample.push(Math.abs(s.vz[k]));
  sample.sort((a, b) => a - b);
  const clip = sample[Math.floor(0.995 * (sample.length - 1))] || 1;
  const widthKm = (nx * spacingM) / 1000;
  const depthKm = (nz * spacingM) / 1000;
  sim.snapshots.forEach((snapshot, n) => {
    const x0 = MARGIN.left + (n % perRow) * (panelW + MARGIN.left);
    const y0 = MARGIN.top + Math.floor(n / perRow) * (panelH + MARGIN.gap + MARGIN.top);
    const image = ctx.createImageData(panelW, panelH);
    for (let py = 0; py < panelH; py++) {
      const j = Math.min(nz - 1, Math.floor(py / scale));
      for (let px = 0; px < panelW; px++) {
        const i = Math.min(nx - 1, Math.floor(px / scale));
        const k = j * nx + i;
        let rgb: Rgb = [255, 255, 255];
        if (medium.density[k] > 0) {
          const grey = 235 - 120 * (medium.vp[k] / vpMax);
          rgb = [grey, grey, grey];
          const v = snapshot.vz[k] / clip;
          const alpha = Math.min(1, Math.abs(v) * 2);
          if (Math.abs(v) > 0.02) rgb = rgb.map((c, m) => c * (1 - alpha) + polarity(v)[m] * alpha) as Rgb;
        }
        image.data.set([...rgb, 255], (py * panelW + px) * 4);
      }
    }
    ctx.putImageData(image, x0, y0);
    ctx.strokeStyle = 'black';
    ctx.strokeRect(x0 - 0.5, y0 - 0.5, panelW + 1, panelH + 1);
    ctx.fillStyle = 'black';
    ctx.textAlign = 'left';
    ctx.fillText(`t = ${snapshot.timeS.toFixed(2)} s`, x0, y0 - 6);
    // Distance below, depth on the left (km from the model's top).
    axis(ctx, {
      from: x0,
      to: x0 + panelW,
      at: y0 + panelH,
      span: widthKm,
      vertical: false,
      label: 'distance (km)',
    });
    axis(ctx, { from: y0, to: y0 + panelH, at: x0, span: depthKm, vertical: true, label: 'depth (km)' });
    ctx.fillStyle = 'black';
    for (const i of options.receiverColumns ?? []) {
      ctx.beginPath();
      ctx.moveTo(x0 + i * scale, y0);
      ctx.lineTo(x0 + i * scale - 4, y0 - 6);
      ctx.lineTo(x0 + i * scale + 4, y0 - 6);
      ctx.fill();
    }
    if (options.sourceNode) source(ctx, x0 + options.sourceNode.i * scale, y0 + options.sourceNode.j * scale);
  });

  // Record section: one trace per receiver, each scaled to its own peak, time left to right.
  const left = MARGIN.left;
  const sectionW = width - MARGIN.left - MARGIN.right;
  const traces = sim.vz;
  const spacing = sectionH / (traces.length + 1);
  const durationS = sim.steps * sim.dtS;
  const toX = (t: number) => left + (t / durationS) * sectionW;
  ctx.strokeStyle = '#999';
  ctx.strokeRect(left - 0.5, sectionTop - 0.5, sectionW + 1, sectionH + 1);
  axis(ctx, {
    from: left,
    to: left + sectionW,
    at: sectionTop + sectionH,
    span: durationS,
    vertical: false,
    label: 'time (s)',
  });
  traces.forEach((trace, r) => {
    const base = sectionTop + spacing * (r + 1);
    let peak = 0;
    for (const v of trace) peak = Math.max(peak, Math.abs(v));
    const stride = Math.max(1, Math.floor(trace.length / (4 * sectionW)));
    ctx.strokeStyle = 'black';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(toX(sim.firstSampleS), base);
    for (let k = 0; k < trace.length; k += stride) {
      ctx.lineTo(toX(sim.firstSampleS + k * sim.dtS), base - (0.6 * spacing * trace[k]) / (peak || 1));
    }
    ctx.stroke();
    ctx.fillStyle = 'black';
    ctx.textAlign = 'right';
    ctx.fillText(`r${r}`, left - 6, base + 4);
    if (options.labels) {
      for (const [t, colour] of [
        [options.labels.pS[r], 'rgb(220,0,0)'],
        [options.labels.sS[r], 'rgb(0,0,220)'],
      ] as const) {
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(toX(t), base - 0.45 * spacing);
        ctx.lineTo(toX(t), base + 0.45 * spacing);
        ctx.stroke();
      }
    }
  });
  legend(ctx, sectionTop + sectionH + MARGIN.gap, clip);
  return canvas.toBuffer('image/png');
}

/** An axis along one side of a panel: ticks at round values of 0..span, their numbers and a label. */
function axis(
  ctx: SKRSContext2D,
  a: { from: number; to: number; at: number; span: number; vertical: boolean; label: string },
): void {
  const step = tickStep(a.span, 6);
  ctx.strokeStyle = 'black';
  ctx.fillStyle = 'black';
  ctx.lineWidth = 1;
  for (let v = 0; v <= a.span + 1e-9; v += step) {
    const p = a.from + ((a.to - a.from) * v) / a.span;
    const text = Number(v.toFixed(6)).toString();
    ctx.beginPath();
    if (a.vertical) {
      ctx.moveTo(a.at, p);
      ctx.lineTo(a.at - 5, p);
      ctx.textAlign = 'right';
      ctx.fillText(text, a.at - 7, p + 4);
    } else {
      ctx.moveTo(p, a.at);
      ctx.lineTo(p, a.at + 5);
      ctx.textAlign = 'center';
      ctx.fillText(text, p, a.at + 17);
    }
    ctx.stroke();
  }
  if (a.vertical) {
    ctx.save();
    ctx.translate(a.at - 40, (a.from + a.to) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(a.label, 0, 0);
    ctx.restore();
  } else {
    ctx.textAlign = 'center';
    ctx.fillText(a.label, (a.from + a.to) / 2, a.at + 31);
  }
}

function source(ctx: SKRSContext2D, x: number, y: number): void {
  ctx.strokeStyle = 'black';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x - 5, y);
  ctx.lineTo(x + 5, y);
  ctx.moveTo(x, y - 5);
  ctx.lineTo(x, y + 5);
  ctx.stroke();
  ctx.lineWidth = 1;
}

/** The colour bar of the snapshots' vertical velocity and what the marks mean. */
function legend(ctx: SKRSContext2D, top: number, clip: number): void {
  const left = MARGIN.left;
  const barW = 200;
  const gradient = ctx.createLinearGradient(left, 0, left + barW, 0);
  gradient.addColorStop(0, 'rgb(0,0,255)');
  gradient.addColorStop(0.5, 'rgb(255,255,255)');
  gradient.addColorStop(1, 'rgb(255,0,0)');
  ctx.fillStyle = gradient;
  ctx.fillRect(left, top, barW, 12);
  ctx.strokeStyle = 'black';
  ctx.strokeRect(left - 0.5, top - 0.5, barW + 1, 13);
  ctx.fillStyle = 'black';
  ctx.textAlign = 'center';
  const value = clip.toExponential(1);
  ctx.fillText(`-${value}`, left, top + 26);
  ctx.fillText('0', left + barW / 2, top + 26);
  ctx.fillText(value, left + barW, top + 26);
  ctx.textAlign = 'left';
  ctx.fillText(
    'vertical velocity (positive down), clipped at its 99.5th percentile',
    left + barW + 40,
    top + 10,
  );
  let x = left;
  const y = top + 46;
  const entry = (draw: () => void, text: string) => {
    draw();
    ctx.fillStyle = 'black';
    ctx.fillText(text, x + 16, y + 4);
    x += 16 + ctx.measureText(text).width + 24;
  };
  for (const [colour, text] of [
    ['rgb(220,0,0)', 'P label'],
    ['rgb(0,0,220)', 'S label'],
  ] as const) {
    entry(() => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x + 4, y - 6);
      ctx.lineTo(x + 4, y + 6);
      ctx.stroke();
      ctx.lineWidth = 1;
    }, text);
  }
  entry(() => source(ctx, x + 4, y), 'source');
  entry(() => {
    ctx.fillStyle = 'black';
    ctx.beginPath();
    ctx.moveTo(x + 4, y + 4);
    ctx.lineTo(x, y - 4);
    ctx.lineTo(x + 8, y - 4);
    ctx.fill();
  }, 'receiver');
  entry(() => {
    ctx.fillStyle = 'rgb(175,175,175)';
    ctx.fillRect(x, y - 6, 10, 12);
  }, 'grey: P velocity (darker is faster); white: air');
  entry(() => {}, 'traces: vertical velocity, each scaled to its peak');
}
