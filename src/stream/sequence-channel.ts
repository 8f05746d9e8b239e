import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError } from '../errors.ts';
import type { StreamId } from '../ingest/stream-id.ts';
import { indexAtOrAfterTimeUs, indexFromTimeUs, samplesToUs, timeUsFromIndex } from './grid.ts';
import { type StepDriver, stepOperator } from './operate.ts';
import { logChannelEvent, type ReportChannelEvent } from './report.ts';
import type { ChannelChunk, ChannelEvent } from './types.ts';

/**
 * One channel's records -> contiguous chunks on the absolute sample grid, in time order.
 *
 * - Placement: a record's first sample goes to the grid index nearest its start time (at most half a
 *   sample away: the half-sample tolerance of types.ts); a record whose start is within half a sample
 *   of the end of the one before continues it, anything else is a gap or an overlap.
 * - Order: a record that continues the stream is passed on at once. One that leaves a hole waits in a
 *   buffer for the records of the hole: at most `maxReorderWaitMs` since the oldest buffered arrival,
 *   counted on the clock and in data time (how far the channel's newest sample moved on since),
 *   whichever is over first, and at most `maxPendingRecords` records. Data time keeps a replay faster
 *   than real time from holding a channel minutes of data behind the others of its station (which
 *   then go on without it and drop what it sends late): it waits no more data than a live stream
 *   would. When the wait is over the hole is reported as a `gap` (with its duration) and the stream
 *   goes on after it. A record that fills a hole while others wait is put back in order
 *   (`out-of-order`); one that comes after its time was passed on is dropped (`out-of-order`).
 * - Duplicates (same start index, same samples as one of the last records received) are dropped
 *   (`duplicate`). Samples that overlap samples already received are dropped, the first arrival wins
 *   (`overlap`, with the duration dropped).
 * - Clock jumps: a record more than `clockJumpS` (one day) before the stream's position is dropped
 *   (`clock-jump`). One more than that ahead is held until the next record: if that one follows it,
 *   the stream jumps there (`clock-jump` with the size of the step; a new segment); if the next record
 *   fits the old stream, the lone record is dropped as a bad time stamp (`clock-jump`).
 * - A sampling rate that changes (beyond 1 ppm) reports `rate-change`; everything buffered is passed
 *   on and a new segment starts on the new rate's grid, after the last sample of the old rate.
 * - NaN and ±Infinity samples (float encodings) are replaced by linear interpolation between the
 *   nearest finite samples of the record (the nearest finite sample at its ends) and reported
 *   (`non-finite`, with their count); a record with no finite sample is dropped.
 *
 * Memory per channel: at most `maxPendingRecords` buffered records, one held record, and the
 * fingerprints of the last {@link RECENT_RECORDS} records. The state is plain data (JSON-safe); the
 * steps update it in place.
 */

export interface SequenceOptions {
  /** How long a record after a hole waits for the hole's records. Default 1000 ms; 0 never reorders. */
  maxReorderWaitMs?: number;
  /** Records waiting at most; one more declares the oldest hole a gap. Default 64. */
  maxPendingRecords?: number;
  /** A start this far from the stream's position is a clock jump, not a gap. Default 86400 s. */
  clockJumpS?: number;
}

/** What the sequencer needs of a decoded record (an MseedRecord has all of it). */
export interface SequenceRecord {
  streamId: StreamId;
  startTimeUs: number;
  samplingRate: number;
  /** A Float64Array (a decoded record's) becomes a chunk's samples as it is; nothing writes into it. */
  samples: ArrayLike<number>;
}

/** Records kept as fingerprints to recognise duplicates and overlaps. */
export const RECENT_RECORDS = 16;

/** Rates closer than this (relative) are the same rate (float rates of miniSEED 3). */
const RATE_TOLERANCE = 1e-6;

interface PendingPiece {
  startIndex: number;
  samples: number[];
  arrivedAtMs: number;
  /** The channel's newest received index (exclusive) once this piece's record arrived. */
  arrivedAtHead: number;
}

export interface SequenceState {
  streamId: StreamId;
  maxReorderWaitMs: number;
  maxPendingRecords: number;
  clockJumpS: number;
  /** The current segment's rate; null before the first record. */
  samplingRate: number | null;
  /** Grid index of the next sample to pass on; null before the first record. */
  nextIndex: number | null;
  /** Received samples not passed on yet, disjoint, in index order, all after `nextIndex`. */
  pending: PendingPiece[];
  /**
   * startIndex, sampleCount, checksum of each of the last records received, three values a record,
   * newest last (see checksum). One array of numbers rather than an array per record: every record
   * is compared with all of them, and 16 small arrays per channel, scattered over a heap of thousands
   * of channels, cost more in cache misses than the rest of the step. (Not a Float64Array: its
   * buffer would live outside V8's heap, and a new one per record brings collections on.)
   */
  recent: number[];
  /** A record far ahead of the stream, waiting for the next record to confirm the jump. */
  jumpCandidate: { startIndex: number; samples: number[]; checksum: number } | null;
}

export interface SequenceStep {
  state: SequenceState;
  chunks: ChannelChunk[];
  events: ChannelEvent[];
}

export function createSequenceState(streamId: StreamId, options: SequenceOptions = {}): SequenceState {
  const { maxReorderWaitMs = 1000, maxPendingRecords = 64, clockJumpS = 86_400 } = options;
  if (!(maxReorderWaitMs >= 0)) {
    throw new ConfigError(`maxReorderWaitMs must be >= 0, got ${maxReorderWaitMs}`);
  }
  if (!Number.isInteger(maxPendingRecords) || maxPendingRecords < 0) {
    throw new ConfigError(`maxPendingRecords must be a non-negative integer, got ${maxPendingRecords}`);
  }
  if (!(clockJumpS > 0)) throw new ConfigError(`clockJumpS must be > 0, got ${clockJumpS}`);
  return {
    streamId: { ...streamId },
    maxReorderWaitMs,
    maxPendingRecords,
    clockJumpS,
    samplingRate: null,
    nextIndex: null,
    pending: [],
    recent: [],
    jumpCandidate: null,
  };
}

/**
 * One step over a channel's state. The step takes the state over: it updates it in place and returns
 * it, as the assembler's and the windows' steps do. Live, a channel's next record comes seconds later,
 * after thousands of other channels' records: a copy of the state (and of its fingerprints) per
 * record outlived the young generation every time and was promoted, a tenth of the stream layer's
 * allocations that the collector then had to mark and sweep.
 */
class Step {
  readonly chunks: ChannelChunk[] = [];
  readonly events: ChannelEvent[] = [];

  constructor(readonly s: SequenceState) {}

  get rate(): number {
    return this.s.samplingRate!;
  }

  event(kind: ChannelEvent['kind'], timeUs: number, durationUs?: number, detail?: string): void {
    this.events.push({
      kind,
      streamId: this.s.streamId,
      timeUs,
      ...(durationUs === undefined ? {} : { durationUs }),
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** Passes on the buffered pieces that may go: contiguous ones, and the rest when the wait is over. */
  release(nowMs: number, force: boolean): void {
    const { s } = this;
    while (s.pending.length > 0) {
      const piece = s.pending[0];
      if (piece.startIndex !== s.nextIndex) {
        const oldest = Math.min(...s.pending.map((p) => p.arrivedAtMs));
        const waitedSamples = receivedHead(s) - Math.min(...s.pending.map((p) => p.arrivedAtHead));
        const due =
          force ||
          nowMs - oldest >= s.maxReorderWaitMs ||
          waitedSamples * 1000 >= s.maxReorderWaitMs * this.rate ||
          s.pending.length > s.maxPendingRecords;
        if (!due) break;
        const missing = piece.startIndex - s.nextIndex!;
        this.event('gap', timeUsFromIndex(s.nextIndex!, this.rate), samplesToUs(missing, this.rate));
      }
      s.pending.shift();
      this.chunks.push({
        streamId: s.streamId,
        samplingRate: this.rate,
        startIndex: piece.startIndex,
        samples: Float64Array.from(piece.samples),
      });
      s.nextIndex = piece.startIndex + piece.samples.length;
    }
  }

  dropCandidate(why: string): void {
    const candidate = this.s.jumpCandidate;
    if (candidate === null) return;
    this.s.jumpCandidate = null;
    const aheadUs = samplesToUs(candidate.startIndex - this.s.nextIndex!, this.rate);
    this.event(
      'clock-jump',
      timeUsFromIndex(candidate.startIndex, this.rate),
      aheadUs,
      `a record ${aheadUs / 1e6} s ahead of the stream ${why}: dropped as a bad time stamp`,
    );
  }

  remember(startIndex: number, count: number, checksum: number): void {
    const { recent } = this.s;
    if (recent.length < 3 * RECENT_RECORDS) {
      recent.push(startIndex, count, checksum);
      return;
    }
    // The oldest out by a loop: Array.prototype.copyWithin is a generic builtin, ~50x slower here.
    const last = recent.length - 3;
    for (let i = 0; i < last; i++) recent[i] = recent[i + 3];
    recent[last] = startIndex;
    recent[last + 1] = count;
    recent[last + 2] = checksum;
  }

  /** Buffers the samples not received before, reporting what overlapped or came too late. */
  intake(startIndex: number, samples: number[], nowMs: number, recordTimeUs: number): void {
    const { s } = this;
    s.nextIndex ??= startIndex;
    const end = startIndex + samples.length;
    const pendingRanges = s.pending.map((p): Range => [p.startIndex, p.startIndex + p.samples.length]);
    const kept = subtract([startIndex, end], [[Number.NEGATIVE_INFINITY, s.nextIndex], ...pendingRanges]);
    const keptCount = kept.reduce((sum, [a, b]) => sum + b - a, 0);
    const dropped = samples.length - keptCount;
    if (dropped > 0) {
      // Dropped samples that lie on data received before are overlaps; the others came too late.
      const received: Range[] = [...pendingRanges];
      for (let i = 0; i < s.recent.length; i += 3)
        received.push([s.recent[i], s.recent[i] + s.recent[i + 1]]);
      const overlapped = samples.length - count(subtract([startIndex, end], received));
      const late = dropped - overlapped;
      if (overlapped > 0) {
        this.event(
          'overlap',
          recordTimeUs,
          samplesToUs(overlapped, this.rate),
          keptCount === 0
            ? 'every sample was received before: the record is dropped (the first arrival is kept)'
            : 'samples received before were dropped (the first arrival is kept)',
        );
      }
      if (late > 0) {
        this.event(
          'out-of-order',
          recordTimeUs,
          samplesToUs(late, this.rate),
          'samples that arrived after the stream had passed their time were dropped',
        );
      }
    }
    if (kept.length > 0 && s.pending.some((p) => p.startIndex > kept[0][0])) {
      this.event('out-of-order', recordTimeUs, undefined, 'arrived after later records: put back in order');
    }
    const arrivedAtHead = Math.max(receivedHead(s), end);
    for (const [a, b] of kept) {
      const piece = {
        startIndex: a,
        samples: samples.slice(a - startIndex, b - startIndex),
        arrivedAtMs: nowMs,
        arrivedAtHead,
      };
      const at = s.pending.findIndex((p) => p.startIndex > a);
      s.pending.splice(at === -1 ? s.pending.length : at, 0, piece);
    }
  }

  result(): SequenceStep {
    return { state: this.s, chunks: this.chunks, events: this.events };
  }
}

type Range = [number, number];

/** Index after the newest sample received (passed on or waiting). */
function receivedHead(s: SequenceState): number {
  return Math.max(s.nextIndex!, ...s.pending.map((p) => p.startIndex + p.samples.length));
}

/** The parts of `range` outside all of `cuts`, in order. */
function subtract(range: Range, cuts: Range[]): Range[] {
  let parts: Range[] = [range];
  for (const [a, b] of cuts) {
    parts = parts.flatMap(([x, y]): Range[] => {
      if (b <= x || a >= y) return [[x, y]];
      const out: Range[] = [];
      if (a > x) out.push([x, a]);
      if (b < y) out.push([b, y]);
      return out;
    });
  }
  return parts;
}

function count(ranges: Range[]): number {
  return ranges.reduce((sum, [a, b]) => sum + b - a, 0);
}

/** Which 32-bit word of a float64 holds its sign and exponent: 1 on little-endian machines. */
const HIGH_WORD = new Uint32Array(new Float64Array([1]).buffer)[1] === 0x3ff00000 ? 1 : 0;

/**
 * A hash of the samples' float64 bits (equal samples, equal checksum; FNV-1a steps over the 32-bit
 * words, the even and the odd words in two chains that are joined at the end, which runs twice as
 * fast as one chain), as a number >= 0 when every sample is finite and as -1 - that hash when one is
 * NaN or ±Infinity (exponent bits all ones), so that it stays a fingerprint of the bits. The two come
 * from one pass because every record needs both: a separate finiteness scan cost as much as the hash.
 */
function checksum(samples: Float64Array): number {
  const words = new Uint32Array(samples.buffer, samples.byteOffset, samples.length * 2);
  let even = 0x811c9dc5;
  let odd = 0x811c9dc5;
  let nonFinite = false;
  for (let i = 0; i < words.length; i += 2) {
    even = Math.imul(even ^ words[i], 0x01000193);
    odd = Math.imul(odd ^ words[i + 1], 0x01000193);
    nonFinite ||= (words[i + HIGH_WORD] & 0x7ff00000) === 0x7ff00000;
  }
  const hash = Math.imul(Math.imul(even, 0x01000193) ^ odd, 0x01000193) >>> 0;
  return nonFinite ? -1 - hash : hash;
}

/**
 * Replaces NaN and ±Infinity in place: linear between the nearest finite samples, the nearest finite
 * sample at the ends. Returns how many were replaced, or -1 when none is finite.
 */
export function interpolateNonFinite(samples: Float64Array): number {
  let replaced = 0;
  let lastFinite = -1;
  for (let i = 0; i <= samples.length; i++) {
    if (i < samples.length && !Number.isFinite(samples[i])) continue;
    const run = i - lastFinite - 1;
    if (run > 0) {
      if (lastFinite === -1 && i === samples.length) return -1;
      const from = lastFinite === -1 ? samples[i] : samples[lastFinite];
      const to = i === samples.length ? samples[lastFinite] : samples[i];
      for (let k = 1; k <= run; k++) samples[lastFinite + k] = from + ((to - from) * k) / (run + 1);
      replaced += run;
    }
    lastFinite = i;
  }
  return replaced;
}

function sameRate(a: number, b: number): boolean {
  return Math.abs(a - b) <= RATE_TOLERANCE * Math.max(a, b);
}

/**
 * Adds one record as it arrives (`nowMs`: the operator's clock, for the reorder wait). Like every step
 * here it takes the state over (see Step): it updates it in place and returns it.
 */
export function pushRecord(state: SequenceState, record: SequenceRecord, nowMs: number): SequenceStep {
  const rate = record.samplingRate;
  const n = record.samples.length;
  if (!(rate > 0) || !Number.isFinite(rate) || n === 0) return { state, chunks: [], events: [] };
  const step = new Step(state);
  const { s } = step;
  if (s.samplingRate !== null && !sameRate(s.samplingRate, rate)) {
    step.release(nowMs, true);
    step.dropCandidate('when the rate changed');
    step.event(
      'rate-change',
      record.startTimeUs,
      undefined,
      `${s.samplingRate} Hz -> ${rate} Hz: a new segment`,
    );
    if (s.nextIndex !== null) {
      s.nextIndex = indexAtOrAfterTimeUs(timeUsFromIndex(s.nextIndex, s.samplingRate), rate);
    }
    s.samplingRate = rate;
    s.recent = [];
  }
  s.samplingRate ??= rate;
  // A decoded record's Float64Array goes on as the chunk's samples as it is: no copy per record.
  let samples = record.samples instanceof Float64Array ? record.samples : new Float64Array(record.samples);
  const startIndex = indexFromTimeUs(record.startTimeUs, s.samplingRate);
  const sum = checksum(samples);
  const candidate = s.jumpCandidate;
  let duplicate =
    candidate !== null &&
    candidate.startIndex === startIndex &&
    candidate.samples.length === n &&
    candidate.checksum === sum;
  const { recent } = s;
  for (let i = 0; i < recent.length; i += 3) {
    duplicate ||= recent[i] === startIndex && recent[i + 1] === n && recent[i + 2] === sum;
  }
  if (duplicate) {
    step.event('duplicate', record.startTimeUs, samplesToUs(n, step.rate), 'dropped');
    return step.result();
  }
  let replaced = 0;
  if (sum < 0) {
    if (samples === record.samples) samples = samples.slice(); // the record's own array stays as it came
    replaced = interpolateNonFinite(samples);
  }
  if (replaced !== 0) {
    step.event(
      'non-finite',
      record.startTimeUs,
      samplesToUs(replaced === -1 ? n : replaced, step.rate),
      replaced === -1
        ? `no finite sample in ${n}: the record is dropped`
        : `${replaced} of ${n} samples were NaN or infinite: linearly interpolated`,
    );
    if (replaced === -1) return step.result();
  }
  if (candidate === null && s.pending.length === 0 && (s.nextIndex ?? startIndex) === startIndex) {
    // The common case, a record that continues the stream with nothing waiting: passed on as it is.
    step.chunks.push({ streamId: s.streamId, samplingRate: step.rate, startIndex, samples });
    s.nextIndex = startIndex + n;
    step.remember(startIndex, n, sum);
    return step.result();
  }
  const values = Array.from(samples);
  if (s.nextIndex !== null) {
    const jump = s.clockJumpS * step.rate;
    const head = Math.max(s.nextIndex, ...s.pending.map((p) => p.startIndex + p.samples.length));
    if (startIndex + n < s.nextIndex - jump) {
      const behindUs = samplesToUs(s.nextIndex - startIndex, step.rate);
      step.event(
        'clock-jump',
        record.startTimeUs,
        behindUs,
        `the record starts ${behindUs / 1e6} s before samples already passed on: dropped`,
      );
      return step.result();
    }
    if (startIndex > head + jump) {
      const follows =
        candidate !== null && Math.abs(startIndex - candidate.startIndex - candidate.samples.length) <= jump;
      if (!follows) {
        step.dropCandidate('was followed by another far record instead of its continuation');
        s.jumpCandidate = { startIndex, samples: values, checksum: sum };
        return step.result();
      }
      step.release(nowMs, true);
      const stepUs = samplesToUs(candidate.startIndex - s.nextIndex, step.rate);
      step.event(
        'clock-jump',
        timeUsFromIndex(candidate.startIndex, step.rate),
        stepUs,
        `the stream goes on ${stepUs / 1e6} s later (the station's clock stepped, or it was off that long): a new segment`,
      );
      s.jumpCandidate = null;
      s.nextIndex = candidate.startIndex;
      step.intake(
        candidate.startIndex,
        candidate.samples,
        nowMs,
        timeUsFromIndex(candidate.startIndex, step.rate),
      );
      step.remember(candidate.startIndex, candidate.samples.length, candidate.checksum);
    } else {
      step.dropCandidate('was followed by records that continue the stream');
    }
  }
  step.intake(startIndex, values, nowMs, record.startTimeUs);
  step.remember(startIndex, n, sum);
  step.release(nowMs, false);
  return step.result();
}

/** The reorder wait is over for the buffered records (`nowMs` >= {@link sequenceDueMs}). */
export function releaseDue(state: SequenceState, nowMs: number): SequenceStep {
  const step = new Step(state);
  step.release(nowMs, false);
  return step.result();
}

/** End of the stream: everything buffered is passed on, a held far record is dropped. */
export function flushSequence(state: SequenceState): SequenceStep {
  const step = new Step(state);
  step.release(0, true);
  step.dropCandidate('ended the stream');
  return step.result();
}

/** When the reorder wait of the buffered records ends, or null when nothing waits. */
export function sequenceDueMs(state: SequenceState): number | null {
  if (state.pending.length === 0) return null;
  return Math.min(...state.pending.map((p) => p.arrivedAtMs)) + state.maxReorderWaitMs;
}

export interface SequenceChannelOptions extends SequenceOptions {
  report?: ReportChannelEvent;
  /** Clock and timers of the reorder wait (virtual time in tests). Default: asyncScheduler. */
  scheduler?: SchedulerLike;
}

/** sequenceChannel's driver (operate.ts), for compositions such as stationWindows. */
export function sequenceSteps(
  options: SequenceChannelOptions = {},
): StepDriver<SequenceRecord, ChannelChunk> {
  const report = options.report ?? logChannelEvent;
  let state: SequenceState | null = null;
  const take = (step: SequenceStep) => {
    state = step.state;
    for (const event of step.events) report(event);
    return step.chunks;
  };
  return {
    push: (record, nowMs) =>
      take(pushRecord(state ?? createSequenceState(record.streamId, options), record, nowMs)),
    flush: () => (state === null ? [] : take(flushSequence(state))),
    dueMs: () => (state === null ? null : sequenceDueMs(state)),
    tick: (nowMs) => (state === null ? [] : take(releaseDue(state, nowMs))),
  };
}

/**
 * Records of one channel (see {@link perChannel}) -> ChannelChunks in time order on the absolute grid,
 * samples as float64. Events go to `report`; nothing stops the stream.
 */
export function sequenceChannel(
  options: SequenceChannelOptions = {},
): OperatorFunction<SequenceRecord, ChannelChunk> {
  // Validate the options when the operator is made, not at the first record.
  createSequenceState({ network: '', station: '', location: '', channel: '' }, options);
  return stepOperator(() => sequenceSteps(options), options.scheduler);
}
