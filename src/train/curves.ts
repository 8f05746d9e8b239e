import type { EpochRecord } from './trainer.ts';

/** The loss history as CSV: epoch,train_loss,validation_loss,learning_rate,windows_per_s. */
export function lossCurvesCsv(history: readonly EpochRecord[]): string {
  const rows = ['epoch,train_loss,validation_loss,learning_rate,windows_per_s'];
  for (const r of history) {
    rows.push(
      [
        r.epoch,
        r.trainLoss.toPrecision(6),
        r.validationLoss?.toPrecision(6) ?? '',
        r.learningRate.toPrecision(4),
        r.windowsPerSecond.toFixed(2),
      ].join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

/**
 * The training and validation loss against the epoch as an SVG line chart. Written by hand: two
 * polylines and their axes are a few lines of SVG, and a charting library would bring a DOM or a
 * canvas to Node.js for them.
 */
export function lossCurvesSvg(history: readonly EpochRecord[], title = 'PhaseNet training'): string {
  const width = 640;
  const height = 400;
  const margin = { left: 60, right: 20, top: 40, bottom: 50 };
  const values = history.flatMap((r) =>
    r.validationLoss === null ? [r.trainLoss] : [r.trainLoss, r.validationLoss],
  );
  const maxY = Math.max(...values, 1e-9) * 1.05;
  const minY = Math.min(0, ...values);
  const lastEpoch = Math.max(1, ...history.map((r) => r.epoch));
  const x = (epoch: number) =>
    margin.left +
    ((epoch - (lastEpoch > 1 ? 1 : 0)) / Math.max(1, lastEpoch - 1)) * (width - margin.left - margin.right);
  const y = (v: number) =>
    height - margin.bottom - ((v - minY) / (maxY - minY)) * (height - margin.top - margin.bottom);
  const line = (points: [number, number][], color: string, label: string) =>
    points.length === 0
      ? ''
      : `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([e, v]) => `${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"><title>${label}</title></polyline>` +
        points
          .map(([e, v]) => `<circle cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`)
          .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => minY + f * (maxY - minY));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="black"/>`,
    ...ticks.map(
      (v) => `<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toPrecision(3)}</text>`,
    ),
    ...history.map(
      (r) =>
        `<text x="${x(r.epoch)}" y="${height - margin.bottom + 16}" text-anchor="middle">${r.epoch}</text>`,
    ),
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">epoch</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">cross-entropy</text>`,
    line(
      history.map((r) => [r.epoch, r.trainLoss]),
      '#1f77b4',
      'training loss',
    ),
    line(
      history.filter((r) => r.validationLoss !== null).map((r) => [r.epoch, r.validationLoss as number]),
      '#d62728',
      'validation loss',
    ),
    `<text x="${width - 150}" y="${margin.top + 10}" fill="#1f77b4">training loss</text>`,
    `<text x="${width - 150}" y="${margin.top + 26}" fill="#d62728">validation loss</text>`,
    '</svg>',
    '',
  ].join('\n');
}
