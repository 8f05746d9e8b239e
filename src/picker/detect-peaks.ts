/**
 * Port of Marcos Duarte's `detect_peaks` (v1.0.6, MIT, as vendored in PhaseNet's detect_peaks.py and
 * called by its postprocessing with mph 0.5, mpd 50 samples, edge 'rising'). It turns a probability
 * trace into picks; PhaseStream keeps its exact semantics so that picks equal the original's.
 *
 * Semantics kept from the original, including its corners:
 * - Peaks are local maxima; a flat top (plateau) gives its first sample ('rising'), its last
 *   ('falling'), both, or nothing (`null`). The first and last samples are never peaks.
 * - NaN samples, and their immediate neighbours, are never peaks; a NaN counts as +Infinity for the
 *   slopes around it.
 * - `mph`: peaks lower than mph are dropped (>= is kept). `threshold`: peaks whose smaller drop to a
 *   neighbour is below threshold are dropped. Both act before `mpd`.
 * - `mpd`: going from the highest peak down, each kept peak removes every other peak within mpd samples
 *   (distance <= mpd), unless `kpsh` keeps those of equal height. Peaks of equal height are visited
 *   later index first, which is what numpy's argsort gives for up to 16 peaks (its sort is then an
 *   insertion sort, stable); beyond that numpy's order among exact ties is unspecified.
 * - `valley`: detects minima by negating the data, and negates `mph` with it (mph is then a maximum).
 *
 * One deliberate difference: `heights` are the data's values at the peaks. The original returns its
 * working copy, negated for valleys and +Infinity where the input was NaN (never at a returned peak).
 */

export type PeakEdge = 'rising' | 'falling' | 'both' | null;

export interface DetectPeaksOptions {
  /** Minimum peak height (maximum valley depth with `valley`); none by default. */
  mph?: number | null;
  /** Minimum peak distance in samples; peaks closer than or at mpd to a higher one are dropped. Default 1 (off). */
  mpd?: number;
  /** Minimum drop from a peak to both its neighbours. Default 0 (off). */
  threshold?: number;
  /** Which sample of a flat peak to keep. Default 'rising'. */
  edge?: PeakEdge;
  /** Keep peaks of the same height even when closer than mpd. Default false. */
  kpsh?: boolean;
  /** Detect valleys (local minima) instead of peaks. Default false. */
  valley?: boolean;
}

export interface Peaks {
  /** Sample indices of the peaks, ascending. */
  indices: number[];
  /** The data's values at those indices. */
  heights: number[];
}

/** A growing array whose start is handed out again at each call. */
function reused<T extends Float64Array | Uint8Array>(make: (n: number) => T): (n: number) => T {
  let array = make(0);
  return (n) => {
    if (array.length < n) array = make(Math.max(n, 2 * array.length));
    return array.subarray(0, n) as T;
  };
}

/**
 * detectPeaks' working arrays, kept between calls: the live-edge lane runs it on every edge window
 * (two phases, hundreds of windows a second at 5,000 stations), and three new arrays per call were
 * ~50 KB of outside memory each time, which brings V8's full collections on sooner.
 */
const scratch = {
  x: reused((n) => new Float64Array(n)),
  dx: reused((n) => new Float64Array(n)),
  isNan: reused((n) => new Uint8Array(n)),
};

/** Detect peaks in a 1-D trace (e.g. one class column of the picker's probabilities). */
export function detectPeaks(data: ArrayLike<number>, options: DetectPeaksOptions = {}): Peaks {
  const { mpd = 1, threshold = 0, edge = 'rising', kpsh = false, valley = false } = options;
  let mph = options.mph ?? null;
  const n = data.length;
  if (n < 3) return { indices: [], heights: [] };

  const x = scratch.x(n);
  x.set(data);
  if (valley) {
    for (let i = 0; i < n; i++) x[i] = -x[i];
    if (mph !== null) mph = -mph;
  }
  // Slopes are taken before NaNs become +Infinity, so that any slope touching a NaN is +Infinity too.
  const dx = scratch.dx(n - 1);
  for (let i = 0; i < n - 1; i++) dx[i] = x[i + 1] - x[i];
  const isNan = scratch.isNan(n);
  let anyNan = false;
  for (let i = 0; i < n; i++) {
    isNan[i] = 0;
    if (Number.isNaN(x[i])) {
      isNan[i] = 1;
      anyNan = true;
      x[i] = Number.POSITIVE_INFINITY;
    }
  }
  if (anyNan) for (let i = 0; i < n - 1; i++) if (Number.isNaN(dx[i])) dx[i] = Number.POSITIVE_INFINITY;

  const rising = edge === 'rising' || edge === 'both';
  const falling = edge === 'falling' || edge === 'both';
  let ind: number[] = [];
  // Index 0 and n - 1 cannot be peaks; the original finds them as candidates and then drops them.
  for (let i = 1; i < n - 1; i++) {
    const after = dx[i];
    const before = dx[i - 1];
    const isPeak =
      edge === null
        ? after < 0 && before > 0
        : (rising && after <= 0 && before > 0) || (falling && after < 0 && before >= 0);
    if (!isPeak) continue;
    if (anyNan && (isNan[i - 1] || isNan[i] || isNan[i + 1])) continue;
    if (mph !== null && !(x[i] >= mph)) continue;
    if (threshold > 0 && Math.min(x[i] - x[i - 1], x[i] - x[i + 1]) < threshold) continue;
    ind.push(i);
  }

  if (ind.length > 0 && mpd > 1) {
    ind = suppressClosePeaks(
      ind,
      ind.map((i) => x[i]),
      mpd,
      kpsh,
    );
  }
  return { indices: ind, heights: ind.map((i) => data[i]) };
}

/**
 * The original's mpd loop over candidate peaks `ind` (ascending) of heights `heights[k]`. The peaks
 * within mpd of one are a contiguous run found by scanning outwards: O(peaks x neighbours) instead of
 * the original's O(peaks^2) masks, same result. Exported for the streaming picker, which runs it on
 * clusters of candidates that no later sample can reach.
 */
export function suppressClosePeaks(
  ind: number[],
  heights: ArrayLike<number>,
  mpd: number,
  kpsh = false,
): number[] {
  // Ascending by height, stable, then reversed: equal heights are visited later index first.
  const order = ind.map((_, k) => k).sort((a, b) => heights[a] - heights[b] || a - b);
  order.reverse();
  const deleted = new Uint8Array(ind.length);
  for (const k of order) {
    if (deleted[k]) continue;
    const height = heights[k];
    for (let j = k - 1; j >= 0 && ind[j] >= ind[k] - mpd; j--)
      if (!kpsh || height > heights[j]) deleted[j] = 1;
    for (let j = k + 1; j < ind.length && ind[j] <= ind[k] + mpd; j++)
      if (!kpsh || height > heights[j]) deleted[j] = 1;
  }
  return ind.filter((_, k) => !deleted[k]);
}
