import { ConfigError } from '../errors.ts';
import type { WindowData } from '../stream/sliding-windows.ts';
import type { StationBlock, StationWindow } from '../stream/types.ts';
import { detectPeaks } from './detect-peaks.ts';
import { normalizeWindow } from './normalize.ts';
import type { PhasePeak } from './phase-picker.ts';

/**
 * The live-edge lane of one station: besides the regular overlapping windows (whose stitched
 * probabilities are final only once every window covering a sample has run, 30-45 s after the data
 * came), the network also runs on a window that ends at the station's newest sample. A P or S peak
 * found there is a provisional pick, made seconds after its data arrived; the stitched path later
 * confirms, revises or retracts it (lifecycle.ts).
 *
 * What it costs and how it is afforded: one more window per station every `strideSamples` would
 * multiply the inference by the regular stride over the edge stride (10 to 15 times). The lane runs
 * only while a cheap trigger holds: an STA/LTA of the squared first differences over all components
 * (the differences drop the DC offset of raw counts) fires at `trigger.ratio` and keeps the lane on
 * for `trigger.holdSamples`, long enough to see the S after the P. Between events nothing runs. The
 * ratio is low on purpose: the trigger only gates the network, the network decides what is a pick.
 *
 * Two pure parts with plain-data state (numbers and a Float32Array: structured-clone safe, so a
 * station moves between processes with `postMessage` or `v8.serialize`):
 * - `pushEdgeBlock`: blocks in, edge windows out (the last `length` samples, normalized as the
 *   regular windows are);
 * - `edgePeaks`: an edge window's probabilities in, the peaks not yet given as provisional out.
 */

export interface LiveEdgeOptions {
  /** Window length in samples (the model's, 3000). */
  length: number;
  /** New samples between two edge windows of a station, at least. */
  strideSamples: number;
  /** The STA/LTA gate; null runs the lane every stride (the measured upper bound of its cost). */
  trigger: { staSamples: number; ratio: number; holdSamples: number } | null;
}

export interface LiveEdgeState {
  /** Absolute index of the first sample held. */
  bufferStart: number;
  /**
   * The newest samples of the segment (at most `length`), row-major [samples, components], in rows
   * `offset` to `offset + rows` of `buffer`; the rows after them are room for the next blocks. A
   * block is one copy: samples that leave the window only move the offset, and the held ones move
   * to the front when a block finds no room (a JS array made anew per block, what this was, put
   * ~0.5 GB/s through the collector at 5,000 stations, each array living until the next block).
   */
  buffer: Float32Array;
  offset: number;
  rows: number;
  components: number;
  /** End (exclusive) of the last edge window; null before the first. */
  lastEnd: number | null;
  /** The lane runs while the newest sample is before this (the trigger's hold); null: off. */
  activeUntil: number | null;
  /** The trigger's characteristic function summed over the buffer (its first sample excluded). */
  cfSum: number;
  /**
   * The characteristic function of the last `staSamples` samples, sample k at `k % staSamples`: the
   * STA's window slides over them, and recomputing them from the buffer was two of every three
   * evaluations (the lane's trigger runs on every block of every station).
   */
  cfRecent: Float64Array;
}

export function createLiveEdge(options: LiveEdgeOptions): LiveEdgeState {
  const { length, strideSamples, trigger } = options;
  if (!Number.isInteger(length) || length < 1) throw new ConfigError(`edge window length ${length}`);
  if (!Number.isInteger(strideSamples) || strideSamples < 1) {
    throw new ConfigError(`picker.liveEdge.strideS must give at least one sample, got ${strideSamples}`);
  }
  if (trigger && !(trigger.staSamples >= 1 && trigger.staSamples < length / 2 && trigger.ratio > 1)) {
    throw new ConfigError('picker.liveEdge.trigger: staS must be under half a window and ratio above 1', {
      hint: 'e.g. { staS: 1, ratio: 3, holdS: 15 }',
    });
  }
  return {
    bufferStart: 0,
    buffer: new Float32Array(0),
    offset: 0,
    rows: 0,
    components: 0,
    lastEnd: null,
    activeUntil: null,
    cfSum: 0,
    cfRecent: new Float64Array(trigger?.staSamples ?? 0),
  };
}

const endOf = (s: LiveEdgeState) => s.bufferStart + s.rows;

/**
 * The STA/LTA characteristic function at sample i (i >= 1) of the rows from `base`: squared first
 * differences, all components.
 */
function cfAt(buffer: Float32Array, base: number, channels: number, i: number): number {
  let cf = 0;
  const at = (base + i) * channels;
  for (let c = 0; c < channels; c++) {
    const d = buffer[at + c] - buffer[at - channels + c];
    cf += d * d;
  }
  return cf;
}

/**
 * Makes room in `s` for `rows` more rows after the ones held: as it is, with the held rows moved to
 * the front, or in a larger buffer (a window and half a window's room, or the block's if larger: the
 * held rows move once per half a window of data).
 */
function makeRoom(s: LiveEdgeState, length: number, rows: number): void {
  const channels = s.components;
  const held = [s.offset * channels, (s.offset + s.rows) * channels] as const;
  if (held[1] + rows * channels <= s.buffer.length) return;
  if ((s.rows + rows) * channels <= s.buffer.length) {
    s.buffer.copyWithin(0, ...held);
  } else {
    const grown = new Float32Array(
      (Math.max(length, s.rows) + Math.max(rows, Math.ceil(length / 2))) * channels,
    );
    grown.set(s.buffer.subarray(...held));
    s.buffer = grown;
  }
  s.offset = 0;
}

/**
 * The STA/LTA gate over the samples [from, n) of the n rows of `buffer` from row `base` (sample 0 is
 * absolute sample `first`): the last sample i where the mean characteristic function over the `sta`
 * samples ending at i is `ratio` times its mean over the buffered samples before them, or null.
 * `total` is the sum of the characteristic function over samples 1..from-1, kept in the state so that
 * a block costs its own samples and `sta`, not the whole buffered window; `recent` holds the function
 * of the last `sta` samples (LiveEdgeState.cfRecent) and takes the new ones.
 */
function triggerAt(
  buffer: Float32Array,
  base: number,
  first: number,
  n: number,
  channels: number,
  from: number,
  total: number,
  recent: Float64Array,
  ratio: number,
): { at: number | null; total: number } {
  const sta = recent.length;
  const slotOf = (i: number) => (first + i) % sta;
  let staSum = 0;
  for (
    let i = Math.max(1, from - sta), slot = slotOf(i);
    i < from;
    i++, slot = slot + 1 === sta ? 0 : slot + 1
  )
    staSum += recent[slot];
  let at: number | null = null;
  let sum = total;
  for (let i = Math.max(1, from), slot = slotOf(i); i < n; i++, slot = slot + 1 === sta ? 0 : slot + 1) {
    const cf = cfAt(buffer, base, channels, i);
    sum += cf;
    // The slot of sample i holds sample i - sta's, which leaves the STA's window.
    staSum += cf - (i - sta >= 1 ? recent[slot] : 0);
    recent[slot] = cf;
    const ltaMean = (sum - staSum) / (i - sta);
    if (i >= 2 * sta && ltaMean > 0 && staSum / sta > ratio * ltaMean) at = i;
  }
  return { at, total: sum };
}

/**
 * Adds one block of a station (as assembled for the regular windows). A block that does not continue
 * the buffer starts afresh (a gap); so does the end of a segment. Returns the edge windows due: the
 * newest `length` samples, once the buffer holds a full window, the lane is on and `strideSamples`
 * came since the last one, its data in `into`'s array. With `admit` false a window that is due is
 * skipped instead (`skipped` 1): not normalized, and the station's next one is a stride later, as if
 * it had run. The step takes the state over (it updates it in place, a new one only after a gap):
 * push the next block to the state returned, not again to the one given.
 */
export function pushEdgeBlock(
  state: LiveEdgeState,
  options: LiveEdgeOptions,
  block: StationBlock,
  arrivedAtMs: number,
  admit = true,
  into: WindowData = (values) => new Float32Array(values),
): { state: LiveEdgeState; windows: StationWindow[]; skipped: number } {
  const channels = block.components.length;
  let s = state;
  if (s.components !== channels || block.startIndex !== endOf(s)) {
    s = { ...createLiveEdge(options), bufferStart: block.startIndex, components: channels };
  }
  const from = s.rows;
  makeRoom(s, options.length, block.length);
  s.buffer.set(block.data, (s.offset + s.rows) * channels);
  const all = s.rows + block.length;
  const drop = Math.max(0, all - options.length);
  let { activeUntil, cfSum } = s;
  if (options.trigger) {
    const { ratio, holdSamples } = options.trigger;
    const step = triggerAt(s.buffer, s.offset, s.bufferStart, all, channels, from, cfSum, s.cfRecent, ratio);
    if (step.at !== null) activeUntil = s.bufferStart + step.at + holdSamples;
    // The dropped samples leave the sum (sample `drop` becomes the first, which has no difference).
    cfSum = step.total;
    for (let i = 1; i <= drop; i++) cfSum -= cfAt(s.buffer, s.offset, channels, i);
  }
  s.bufferStart += drop;
  s.offset += drop;
  s.rows = all - drop;
  s.activeUntil = activeUntil;
  s.cfSum = cfSum;
  const end = endOf(s);
  const on = options.trigger === null || (activeUntil !== null && end - 1 <= activeUntil);
  const due = s.lastEnd === null || end - s.lastEnd >= options.strideSamples;
  const windows: StationWindow[] = [];
  const ready = block.length > 0 && on && due && end - s.bufferStart === options.length;
  if (ready && admit) {
    windows.push({
      station: block.station,
      samplingRate: block.samplingRate,
      startIndex: s.bufferStart,
      length: options.length,
      components: block.components,
      data: normalizeWindow(
        s.buffer.subarray(s.offset * channels, (s.offset + s.rows) * channels),
        channels,
        into(s.rows * channels),
      ),
      endOfSegment: false,
      receivedAtMs: arrivedAtMs,
    });
  }
  if (ready) s.lastEnd = end;
  if (block.endOfSegment) s = { ...createLiveEdge(options), bufferStart: end, components: 0 };
  return { state: s, windows, skipped: ready && !admit ? 1 : 0 };
}

export interface EdgePeakOptions {
  classes: string[];
  minPeakHeight: Record<string, number>;
  minPeakDistanceSamples: number;
  /**
   * Samples at the window's end not searched: the network sees no data after them, and a peak there
   * may still be rising. The next edge window looks again.
   */
  guardSamples: number;
  /**
   * Only peaks at most this far behind the window's end are searched: older samples were seen by
   * earlier edge windows, and a peak first found there (the lane was off, or the network changed its
   * mind) is left to the stitched path rather than given late.
   */
  lookbackSamples: number;
  /** The provisional pick's own floor: a peak must reach max(its phase's minPeakHeight, this). */
  minProvisionalHeight: number;
}

/** edgePeaks' column of one phase, kept between windows (detectPeaks copies what it reads). */
let column = new Float32Array(0);

/** Per phase, the sample indices of the provisional picks already given (recent ones only). */
export type EdgePeakState = Record<string, number[]>;

/**
 * The peaks of an edge window's probabilities ([length, classes] from `start`) that were not given
 * before: a peak within `minPeakDistanceSamples` of one already given is the same phase seen again.
 */
export function edgePeaks(
  state: EdgePeakState,
  options: EdgePeakOptions,
  start: number,
  probs: ArrayLike<number>,
): { state: EdgePeakState; peaks: PhasePeak[] } {
  const classes = options.classes.length;
  const length = probs.length / classes;
  const next: EdgePeakState = {};
  const peaks: PhasePeak[] = [];
  for (const [k, phase] of options.classes.entries()) {
    const mph = options.minPeakHeight[phase];
    if (mph === undefined) continue;
    if (column.length < length) column = new Float32Array(length);
    for (let i = 0; i < length; i++) column[i] = probs[i * classes + k];
    const found = detectPeaks(column.subarray(0, length), {
      mph: Math.max(mph, options.minProvisionalHeight),
      mpd: options.minPeakDistanceSamples,
    });
    // Picks older than the window are settled by the stitched path: forget them.
    const given = (state[phase] ?? []).filter((index) => index >= start);
    for (const [j, offset] of found.indices.entries()) {
      if (offset >= length - options.guardSamples || offset < length - options.lookbackSamples) continue;
      const sample = start + offset;
      if (given.some((index) => Math.abs(index - sample) <= options.minPeakDistanceSamples)) continue;
      given.push(sample);
      peaks.push({ phase, sample, probability: found.heights[j] });
    }
    next[phase] = given;
  }
  peaks.sort((a, b) => a.sample - b.sample);
  return { state: next, peaks };
}
