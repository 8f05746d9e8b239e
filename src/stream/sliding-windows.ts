import type { OperatorFunction } from 'rxjs';
import { ConfigError } from '../errors.ts';
import { fillNonFinite, normalizeWindow } from '../picker/normalize.ts';
import type { Float32Pool } from '../util/array-pool.ts';
import { staggerOffset } from './grid.ts';
import { type StepDriver, stepOperator } from './operate.ts';
import { type StationBlock, type StationId, type StationWindow, stationKey } from './types.ts';

/**
 * One station's blocks -> normalized windows for the network.
 *
 * Windows lie on the absolute sample grid: after one at the segment's start, they start at the
 * multiples of `stride` (grid indices, src/stream/grid.ts), not at counts from the segment's start, so
 * a segment that begins later (a restart, the data after a gap) gets the same windows as an unbroken
 * stream once past its first window, and live picking, replay and a resumed run agree. With `stagger`,
 * each station's grid is moved by its own offset within the stride (grid.ts `staggerOffset`), so that
 * a network's windows are not all due at once. A window goes out as soon as its samples are in (one
 * that ends exactly at the newest sample waits for the next block, which tells whether the segment
 * goes on: if it ends there, that window is the segment's last). At the end of a segment one window
 * aligned to the segment's end goes out, so its last samples are seen, or, for a segment shorter than
 * a window, one window of the segment's own length.
 * The last window of a segment has `endOfSegment` (the picker flushes the station after it). A block
 * that does not continue the buffered samples also ends the segment.
 *
 * A component absent over part of a window (`present` false in its blocks) has those samples
 * replaced by the mean of its present ones (normalize.ts `fillNonFinite`), so its trace gets no step
 * where the data stops; absent over the whole window, it is zeros, a dead channel for
 * `normalizeWindow`, as the original treats missing components.
 *
 * `receivedAtMs` is the arrival time (the `clock` when the block came) of the block holding the
 * window's last sample. Memory: at most two windows of samples and a block. The state is plain data with one
 * Float32Array (structured-clone safe, e.g. `v8.serialize` or `postMessage`).
 */

export interface WindowOptions {
  /** Window length in samples. Default 3000 (PhaseNet). */
  length?: number;
  /** Samples between window starts. Default half the length. */
  stride?: number;
  /** Each station's windows at its own offset within the stride (grid.ts `staggerOffset`). Default false. */
  stagger?: boolean;
}

export interface WindowState {
  length: number;
  stride: number;
  stagger: boolean;
  /** Where the open segment's grid lies within the stride: 0, or the station's offset when staggered. */
  offset: number;
  station: StationId | null;
  samplingRate: number;
  components: string[];
  /** Start of the open segment; null when none is open. */
  segmentStart: number | null;
  /**
   * Samples [bufferStart, bufferStart + bufferLength), row-major, at the front of `buffer` (its
   * capacity beyond that is spare room, so that a block is one copy, not a reallocation).
   */
  bufferStart: number;
  bufferLength: number;
  buffer: Float32Array;
  /**
   * Runs of presence, three numbers each: start, end, mask (bit c set when component c has data).
   * Flat arrays here and in `arrivals`: a small array per block lived until its window went out,
   * tens of seconds, which live order makes thousands of promoted objects a second.
   */
  presence: number[];
  /** Two numbers per buffered block: its end and when it arrived (samples before `end` arrived then). */
  arrivals: number[];
  /** Start of the next window: the segment's start, then multiples of `stride`. */
  nextStart: number;
  /** Start of the last window that went out in this segment; null before the first. */
  lastStart: number | null;
}

export interface WindowStep {
  state: WindowState;
  windows: StationWindow[];
}

export function createWindowState(options: WindowOptions = {}): WindowState {
  const { length = 3000, stride = Math.floor(length / 2), stagger = false } = options;
  if (!Number.isInteger(length) || length < 1)
    throw new ConfigError(`window length must be a positive integer, got ${length}`);
  if (!Number.isInteger(stride) || stride < 1)
    throw new ConfigError(`stride must be a positive integer, got ${stride}`);
  return {
    length,
    stride,
    stagger,
    offset: 0,
    station: null,
    samplingRate: 0,
    components: [],
    segmentStart: null,
    bufferStart: 0,
    bufferLength: 0,
    buffer: new Float32Array(0),
    presence: [],
    arrivals: [],
    nextStart: 0,
    lastStart: null,
  };
}

function bufferEnd(s: WindowState): number {
  return s.bufferStart + s.bufferLength;
}

/** Where a window's normalized data goes: a new array, or one from the caller's pool. */
export type WindowData = (values: number) => Float32Array;

const newWindowData: WindowData = (values) => new Float32Array(values);

function makeWindow(
  s: WindowState,
  start: number,
  length: number,
  endOfSegment: boolean,
  into: WindowData,
): StationWindow {
  const channels = s.components.length;
  const from = (start - s.bufferStart) * channels;
  let raw: ArrayLike<number> = s.buffer.subarray(from, from + length * channels);
  const end = start + length;
  const all = 2 ** channels - 1;
  const { presence, arrivals } = s;
  let partial = false;
  for (let r = 0; r < presence.length; r += 3) {
    partial ||= presence[r] < end && presence[r + 1] > start && presence[r + 2] !== all;
  }
  if (partial) {
    const marked = Float64Array.from(raw);
    for (let r = 0; r < presence.length; r += 3) {
      const a = presence[r];
      const b = presence[r + 1];
      const mask = presence[r + 2];
      for (let c = 0; c < channels; c++) {
        if (mask & (1 << c)) continue;
        for (let i = Math.max(a, start); i < Math.min(b, end); i++)
          marked[(i - start) * channels + c] = Number.NaN;
      }
    }
    raw = fillNonFinite(marked, channels).values;
  }
  let arrival = 0;
  while (arrivals[arrival] <= end - 1) arrival += 2;
  return {
    station: s.station!,
    samplingRate: s.samplingRate,
    startIndex: start,
    length,
    components: s.components,
    data: normalizeWindow(raw, channels, into(length * channels)),
    endOfSegment,
    receivedAtMs: arrivals[arrival + 1],
  };
}

/** Closes the open segment in place: its buffer, presence and arrivals go. */
function closeSegment(s: WindowState): void {
  s.segmentStart = null;
  s.bufferLength = 0;
  s.buffer = new Float32Array(0);
  s.presence = [];
  s.arrivals = [];
  s.lastStart = null;
}

/** The grid start after `start`: the next multiple of the stride, moved by the segment's offset. */
function nextGridStart(s: WindowState, start: number): number {
  return (Math.floor((start - s.offset) / s.stride) + 1) * s.stride + s.offset;
}

/** The windows a segment ending at the buffer's end still owes: those ending there, then one aligned to it. */
function owedStarts(s: WindowState, segmentStart: number): number[] {
  const end = bufferEnd(s);
  if (end - segmentStart <= s.length) return s.lastStart === null ? [segmentStart] : [];
  const starts: number[] = [];
  for (let start = s.nextStart; start + s.length <= end; start = nextGridStart(s, start)) starts.push(start);
  const last = starts.length > 0 ? starts[starts.length - 1] : s.lastStart!;
  if (last + s.length < end) starts.push(end - s.length);
  return starts;
}

/** The segment ends: the windows it is still owed, the last one marked; the state closes. */
function endSegment(s: WindowState, into: WindowData): StationWindow[] {
  if (s.segmentStart === null) return [];
  const segmentLength = bufferEnd(s) - s.segmentStart;
  const starts = owedStarts(s, s.segmentStart);
  const length = Math.min(s.length, segmentLength);
  const windows =
    segmentLength === 0
      ? []
      : starts.map((start, i) => makeWindow(s, start, length, i === starts.length - 1, into));
  closeSegment(s);
  return windows;
}

/**
 * Appends a block's samples to the buffer: one copy. Samples no later window needs are dropped only
 * when the block does not fit (the kept ones move to the front), and the buffer has a window's room to
 * spare beyond a window and a block: a move per window's worth of samples rather than per block.
 */
function append(s: WindowState, data: Float32Array): void {
  const channels = s.components.length;
  if (s.bufferLength * channels + data.length > s.buffer.length) compact(s);
  const used = s.bufferLength * channels;
  if (used + data.length > s.buffer.length) {
    const grown = new Float32Array(Math.max(used, s.length * channels) + s.length * channels + data.length);
    grown.set(s.buffer.subarray(0, used));
    s.buffer = grown;
  }
  s.buffer.set(data, used);
  s.bufferLength += data.length / channels;
}

/** The first sample a later window may need: the next start, or a window before the buffer's end. */
function keepFrom(s: WindowState): number {
  return Math.min(s.nextStart, Math.max(s.segmentStart!, bufferEnd(s) - s.length));
}

/** Moves the samples a later window may need to the front of the buffer. */
function compact(s: WindowState): void {
  if (s.segmentStart === null) return;
  const from = keepFrom(s);
  if (from <= s.bufferStart) return;
  const channels = s.components.length;
  const drop = from - s.bufferStart;
  s.buffer.copyWithin(0, drop * channels, s.bufferLength * channels);
  s.bufferStart = from;
  s.bufferLength -= drop;
}

/**
 * Adds one block (arrived at `arrivedAtMs`) and passes on the windows it completes. The step takes
 * the state over: it updates it in place (the buffer is not copied per block) and returns it.
 */
export function pushWindowBlock(
  state: WindowState,
  block: StationBlock,
  arrivedAtMs: number,
  into: WindowData = newWindowData,
): WindowStep {
  const windows: StationWindow[] = [];
  const s = state;
  if (s.segmentStart !== null && block.startIndex !== bufferEnd(s)) windows.push(...endSegment(s, into));
  if (block.length > 0) {
    if (s.segmentStart === null) {
      s.station = block.station;
      s.offset = s.stagger ? staggerOffset(stationKey(block.station), s.stride) : 0;
      s.samplingRate = block.samplingRate;
      s.components = block.components;
      s.segmentStart = block.startIndex;
      s.bufferStart = block.startIndex;
      s.nextStart = block.startIndex;
    }
    const end = block.startIndex + block.length;
    const mask = block.present.reduce((bits, present, c) => (present ? bits | (1 << c) : bits), 0);
    append(s, block.data);
    const runs = s.presence.length;
    if (runs > 0 && s.presence[runs - 2] === block.startIndex && s.presence[runs - 1] === mask) {
      s.presence[runs - 2] = end;
    } else s.presence.push(block.startIndex, end, mask);
    s.arrivals.push(end, arrivedAtMs);
    while (s.nextStart + s.length < end) {
      windows.push(makeWindow(s, s.nextStart, s.length, false, into));
      s.lastStart = s.nextStart;
      s.nextStart = nextGridStart(s, s.nextStart);
    }
  }
  if (block.endOfSegment) windows.push(...endSegment(s, into));
  else trim(s);
  return { state: s, windows };
}

/** Forgets the presence and arrivals of samples no later window needs (the samples go in `append`). */
function trim(s: WindowState): void {
  if (s.segmentStart === null) return;
  const from = keepFrom(s);
  // Both lists are in block order, so what ends before `from` is a prefix: dropped in place.
  dropEndedBefore(s.presence, 3, 1, from);
  dropEndedBefore(s.arrivals, 2, 0, from);
}

/** Drops the leading entries (`size` numbers each, the end at `end`) that end at or before `keepFrom`. */
function dropEndedBefore(list: number[], size: number, end: number, keepFrom: number): void {
  let ended = 0;
  while (ended < list.length && list[ended + end] <= keepFrom) ended += size;
  if (ended > 0) list.splice(0, ended);
}

/** End of the stream: the open segment ends. */
export function flushWindows(state: WindowState, into: WindowData = newWindowData): WindowStep {
  const windows = endSegment(state, into);
  return { state, windows };
}

export interface SlidingWindowsOptions extends WindowOptions {
  /** The model's component order, checked against the blocks'. */
  components?: string[];
  /** Wall clock for `receivedAtMs`. Default Date.now. */
  clock?: () => number;
  /**
   * Where the windows' normalized data come from: arrays that the consumer gives back once it has
   * read them (pickPhases' `windowData`). Default a new array per window.
   */
  windowData?: Float32Pool;
  /**
   * Where the blocks' arrays go once copied into the window buffer (assembleStation's `blockData`): for
   * blocks that nothing read later holds on to.
   */
  blockData?: Float32Pool;
}

/** slidingWindows' driver (operate.ts), for compositions such as stationWindows. */
export function windowSteps(options: SlidingWindowsOptions = {}): StepDriver<StationBlock, StationWindow> {
  const clock = options.clock ?? Date.now;
  const pool = options.windowData;
  const into: WindowData = pool ? (values) => pool.take(values) : newWindowData;
  const components = options.components?.join();
  let checked: string[] | null = null; // a station's blocks share their components array
  let state = createWindowState(options);
  const take = (step: WindowStep) => {
    state = step.state;
    return step.windows;
  };
  return {
    push: (block) => {
      if (components !== undefined && block.components !== checked) {
        if (block.components.join() !== components) {
          throw new ConfigError(
            `blocks come with components [${block.components.join(', ')}], the model takes [${options.components!.join(', ')}]`,
          );
        }
        checked = block.components;
      }
      const windows = take(pushWindowBlock(state, block, clock(), into));
      options.blockData?.give(block.data);
      return windows;
    },
    flush: () => take(flushWindows(state, into)),
  };
}

/** StationBlocks of one station -> normalized StationWindows (see {@link perStation}). */
export function slidingWindows(
  options: SlidingWindowsOptions = {},
): OperatorFunction<StationBlock, StationWindow> {
  createWindowState(options);
  return stepOperator(() => windowSteps(options));
}
