/**
 * Where energy first comes in a simulated record: the first sample whose particle speed
 * sqrt(vx^2 + vz^2) exceeds `fraction` of the largest after `fromS`. Simulated records are free of
 * noise, so this finds an arrival's first motion; it is how labels are checked against waveforms.
 */
export function waveformOnsetS(
  vx: ArrayLike<number>,
  vz: ArrayLike<number>,
  firstSampleS: number,
  dtS: number,
  options: { fraction?: number; fromS?: number; toS?: number } = {},
): number | null {
  const from = Math.max(0, Math.ceil(((options.fromS ?? 0) - firstSampleS) / dtS));
  const to = Math.min(
    vx.length,
    Math.floor(((options.toS ?? Number.POSITIVE_INFINITY) - firstSampleS) / dtS),
  );
  let max = 0;
  for (let k = from; k < to; k++) max = Math.max(max, vx[k] * vx[k] + vz[k] * vz[k]);
  if (max === 0) return null;
  const threshold = max * (options.fraction ?? 0.01) ** 2;
  for (let k = from; k < to; k++) {
    if (vx[k] * vx[k] + vz[k] * vz[k] > threshold) return firstSampleS + k * dtS;
  }
  return null;
}
