import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError, WaveformFormatError } from '../errors.ts';
import { streamKey } from '../ingest/stream-id.ts';
import { log } from '../log.ts';
import type { Float32Pool, Float64Pool } from '../util/array-pool.ts';
import { channelParts, stationOfStream } from './component.ts';
import { samplesToUs, timeUsFromIndex } from './grid.ts';
import { type StepDriver, stepOperator } from './operate.ts';
import { logChannelEvent, type ReportChannelEvent } from './report.ts';
import type { ChannelChunk, ChannelEvent, StationBlock, StationId } from './types.ts';

/**
 * The channels of one station at the model's rate -> StationBlocks on the common grid, [length,
 * components] in the model's component order (docs/stream.md has the policy in full).
 *
 * - Components: the channel's orientation code (component.ts: Z; N or 1; E or 2). The first channel
 *   seen for a component feeds it; another one for the same component is ignored (logged once).
 * - Waiting: blocks go out up to where every component has data, but a component behind which
 *   another holds more than `maxLagMs` of samples is not waited for: the station goes on without it
 *   (zeros, `present` false), and what it sends later for times already passed on is dropped
 *   (`out-of-order`). Lag is counted in samples received, not in time, so that a gap of the whole
 *   station is no lag: after it every component gets its `maxLagMs` again. A component that never
 *   sends (a Z-only station) thus costs `maxLagMs` of delay at the start of each segment, then the
 *   station runs on its other components.
 * - Gaps inside a component of at most `shortGapFillS` are filled by linear interpolation between
 *   the samples on either side (`present` stays true); longer ones leave the component out there
 *   (zeros, `present` false) while the others go on.
 * - A stretch with no data on any component longer than `shortGapFillS` ends the segment: the last
 *   block before it has `endOfSegment` (or, when that block went out before the gap was known, a block
 *   of length 0 with `endOfSegment` at the gap's start follows), and a new segment starts after it.
 * - The end of the stream, and `endAfterIdleMs` without any chunk (when set), end the segment too.
 *
 * Memory per station: at most about `maxLagMs` of samples per component (plus one chunk), as
 * components more behind are not waited for. The state is plain data with Float64Array views of the
 * chunks' samples (structured-clone safe: `postMessage`, `v8.serialize`).
 */

export interface AssembleOptions {
  /** The model's components in its input order. Default ['E', 'N', 'Z'] (PhaseNet). */
  components?: string[];
  /** The model's rate; chunks must come at it (resampleChannel before). */
  samplingRate: number;
  /** How far (data time) a component may lag the most advanced one and still be waited for. Default 30 s. */
  maxLagMs?: number;
  /** Gaps up to this long are interpolated; longer ones leave the component out. Default 2 s. */
  shortGapFillS?: number;
}

interface Piece {
  start: number;
  /** A view of the chunk's samples (not a copy). */
  values: Float64Array;
}

interface Track {
  /** The channel that feeds this component, once one has. */
  channel: string | null;
  /** Index after the last sample received in this segment; null before its first. */
  end: number | null;
  /**
   * Samples not yet passed on, disjoint and in order. The first piece may begin before the frontier:
   * its part passed on stays in it until the whole piece is (every reader starts at the frontier).
   * A view cut per block instead was a new object that, live, outlived the young generation.
   */
  pieces: Piece[];
  /** The last sample received in this segment (the left end of a short-gap fill). */
  lastValue: number | null;
}

export interface AssembleState {
  station: StationId;
  components: string[];
  samplingRate: number;
  maxLagSamples: number;
  shortGapSamples: number;
  /** Next index to pass on; null before any data. */
  frontier: number | null;
  /** False until a block went out: until then an earlier chunk may still move the start back. */
  frontierFixed: boolean;
  /** Start of the current segment; null between segments (after a flush). */
  segmentStart: number | null;
  /** A block of the current segment went out, so its end must be marked. */
  segmentOpen: boolean;
  tracks: Track[];
}

export interface AssembleStep {
  state: AssembleState;
  blocks: StationBlock[];
  events: ChannelEvent[];
  /** A chunk that feeds no component: its channel. */
  ignored?: string;
}

export function createAssembleState(station: StationId, options: AssembleOptions): AssembleState {
  const { components = ['E', 'N', 'Z'], samplingRate, maxLagMs = 30_000, shortGapFillS = 2 } = options;
  if (!(samplingRate > 0)) throw new ConfigError(`samplingRate must be > 0, got ${samplingRate}`);
  if (components.length === 0 || new Set(components).size !== components.length) {
    throw new ConfigError(`components must be distinct and not empty, got [${components.join(', ')}]`);
  }
  if (!(maxLagMs >= 0)) throw new ConfigError(`maxLagMs must be >= 0, got ${maxLagMs}`);
  if (!(shortGapFillS >= 0)) throw new ConfigError(`shortGapFillS must be >= 0, got ${shortGapFillS}`);
  return {
    station: { ...station },
    components: [...components],
    samplingRate,
    maxLagSamples: Math.round((maxLagMs * samplingRate) / 1000),
    shortGapSamples: Math.round(shortGapFillS * samplingRate),
    frontier: null,
    frontierFixed: false,
    segmentStart: null,
    segmentOpen: false,
    tracks: components.map(() => ({ channel: null, end: null, pieces: [], lastValue: null })),
  };
}

/** Where a track's known data ends in the current segment (its start when it has none yet). */
function knownEnd(state: AssembleState, track: Track): number {
  return Math.max(track.end ?? Number.NEGATIVE_INFINITY, state.segmentStart!);
}

/** The most samples any component holds at or after index `at`. */
function dataBeyond(s: AssembleState, at: number): number {
  let most = 0;
  for (const track of s.tracks) {
    let held = 0;
    for (const p of track.pieces) held += Math.max(0, p.start + p.values.length - Math.max(p.start, at));
    most = Math.max(most, held);
  }
  return most;
}

/**
 * Arrays that go round (src/util/array-pool.ts; stationWindows wires them): `blockData` gives the
 * blocks' arrays, which their last reader gives back; `chunkData` takes the chunks' sample arrays back
 * once every sample of one has gone out in a block (the decoder takes them from it again).
 * Without them, a new array per block and none given back.
 */
export interface AssemblyPools {
  blockData?: Float32Pool;
  chunkData?: Float64Pool;
}

/** Passes on [frontier, upTo): blocks of uniform presence, segment ends at long all-component holes. */
function emit(s: AssembleState, upTo: number, final: boolean, pools: AssemblyPools): StationBlock[] {
  const blocks: StationBlock[] = [];
  const from = s.frontier!;
  const channels = s.components.length;
  const endSegment = (at: number) => {
    if (!s.segmentOpen) return;
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.startIndex + last.length === at) last.endOfSegment = true;
    else
      blocks.push(
        block(
          s,
          at,
          0,
          new Float32Array(0),
          s.tracks.map(() => false),
          true,
        ),
      );
    s.segmentOpen = false;
  };
  if (upTo > from) {
    // Runs of equal presence between the pieces' edges: a block each, or a segment end for a long run
    // with no data at all. Presence is a bit mask per edge (bit c: component c has data there).
    const edges = [from, upTo];
    for (const track of s.tracks) {
      for (const p of track.pieces) {
        const end = p.start + p.values.length;
        if (p.start > from && p.start < upTo) edges.push(p.start);
        if (end > from && end < upTo) edges.push(end);
      }
    }
    if (edges.length > 2) {
      edges.sort((a, b) => a - b);
      let kept = 1;
      for (let e = 1; e < edges.length; e++) if (edges[e] !== edges[kept - 1]) edges[kept++] = edges[e];
      edges.length = kept;
    }
    const maskAt = (at: number) => {
      let mask = 0;
      for (let c = 0; c < channels; c++) {
        for (const p of s.tracks[c].pieces) {
          if (p.start <= at && at < p.start + p.values.length) {
            mask |= 1 << c;
            break;
          }
        }
      }
      return mask;
    };
    let runStart = edges[0];
    let runMask = maskAt(runStart);
    for (let e = 1; e < edges.length; e++) {
      const at = edges[e];
      const mask = at < upTo ? maskAt(at) : -1;
      if (mask === runMask) continue;
      const length = at - runStart;
      if (runMask === 0 && length > s.shortGapSamples) {
        endSegment(runStart);
        s.segmentStart = at;
        // No gap fill reaches back across the hole into the old segment.
        for (const track of s.tracks) if (track.end !== null && track.end <= at) track.lastValue = null;
      } else {
        const values = length * channels;
        const data = pools.blockData ? pools.blockData.take(values) : new Float32Array(values);
        // Within a run the pieces of a present component cover it whole; an absent one is zeros.
        if (runMask !== (1 << channels) - 1) data.fill(0);
        for (let c = 0; c < channels; c++) {
          for (const p of s.tracks[c].pieces) copyPiece(p, runStart, at, data, channels, c);
        }
        const present = s.tracks.map((_, c) => (runMask & (1 << c)) !== 0);
        blocks.push(block(s, runStart, length, data, present, false));
        s.segmentOpen = true;
      }
      runStart = at;
      if (mask !== -1) runMask = mask;
    }
    s.frontier = upTo;
    s.frontierFixed = true;
    for (const track of s.tracks) {
      let passed = 0;
      while (
        passed < track.pieces.length &&
        track.pieces[passed].start + track.pieces[passed].values.length <= upTo
      )
        passed++;
      if (passed > 0) {
        if (pools.chunkData) for (let p = 0; p < passed; p++) pools.chunkData.give(track.pieces[p].values);
        track.pieces.splice(0, passed);
      }
    }
  }
  if (final) endSegment(s.frontier!);
  return blocks;
}

/** The samples of `piece` in [from, to) into column `c` of the row-major block `data` starting at `from`. */
function copyPiece(piece: Piece, from: number, to: number, data: Float32Array, channels: number, c: number) {
  const a = Math.max(piece.start, from);
  const b = Math.min(piece.start + piece.values.length, to);
  const values = piece.values;
  let k = (a - from) * channels + c;
  for (let i = a - piece.start; i < b - piece.start; i++, k += channels) data[k] = values[i];
}

function block(
  s: AssembleState,
  startIndex: number,
  length: number,
  data: Float32Array,
  present: boolean[],
  endOfSegment: boolean,
): StationBlock {
  const out: StationBlock = {
    station: s.station,
    samplingRate: s.samplingRate,
    startIndex,
    length,
    components: s.components,
    data,
    present,
  };
  if (endOfSegment) out.endOfSegment = true;
  return out;
}

/**
 * Adds one chunk of one of the station's channels and passes on what became complete. The step takes
 * the state over: it updates it in place and returns it (a copy of the tracks per chunk was a tenth
 * of a replay's assembly time).
 */
export function pushAssemble(
  state: AssembleState,
  chunk: ChannelChunk,
  pools: AssemblyPools = {},
): AssembleStep {
  const rateOff = Math.abs(chunk.samplingRate - state.samplingRate) > 1e-6 * state.samplingRate;
  if (rateOff) {
    throw new WaveformFormatError(
      `${streamKey(chunk.streamId)} reached the station assembler at ${chunk.samplingRate} Hz, not ${state.samplingRate} Hz`,
      { hint: 'resample each channel to the model rate first (resampleChannel)' },
    );
  }
  const { channel } = chunk.streamId;
  const c = state.components.indexOf(channelParts(channel).component ?? '');
  if (c === -1 || (state.tracks[c].channel !== null && state.tracks[c].channel !== channel)) {
    pools.chunkData?.give(chunk.samples);
    return { state, blocks: [], events: [], ignored: channel };
  }
  const s = state;
  const events: ChannelEvent[] = [];
  const event = (kind: ChannelEvent['kind'], at: number, samples: number, detail: string) =>
    events.push({
      kind,
      streamId: chunk.streamId,
      timeUs: timeUsFromIndex(at, s.samplingRate),
      durationUs: samplesToUs(samples, s.samplingRate),
      detail,
    });
  const track = s.tracks[c];
  track.channel = channel;
  let start = chunk.startIndex;
  let values = chunk.samples;
  if (s.frontier === null || (!s.frontierFixed && start < s.frontier)) {
    s.frontier = start;
    s.segmentStart = start;
  } else if (s.segmentStart === null) {
    s.segmentStart = Math.max(s.frontier, start);
    s.frontier = s.segmentStart;
  }
  const floor = Math.max(s.frontier, track.end ?? Number.NEGATIVE_INFINITY);
  if (start < floor) {
    const cut = Math.min(floor - start, values.length);
    if (track.end !== null && start < track.end) {
      event(
        'overlap',
        start,
        Math.min(track.end - start, cut),
        'samples this component already had were dropped',
      );
    }
    const behind = cut - (track.end !== null && start < track.end ? Math.min(track.end - start, cut) : 0);
    if (behind > 0) {
      event(
        'out-of-order',
        Math.max(start, track.end ?? start),
        behind,
        `the station had passed on this time without the component (it lagged more than ${s.maxLagSamples / s.samplingRate} s): dropped`,
      );
    }
    values = values.subarray(cut);
    start += cut;
  }
  if (values.length === 0) {
    pools.chunkData?.give(chunk.samples);
    return { state: s, blocks: [], events };
  }
  const gap = track.end === null ? 0 : start - track.end;
  if (gap > 0 && gap <= s.shortGapSamples && track.lastValue !== null && track.end! >= s.frontier) {
    const from = track.lastValue;
    const to = values[0];
    const filled = new Float64Array(gap);
    for (let k = 0; k < gap; k++) filled[k] = from + ((to - from) * (k + 1)) / (gap + 1);
    track.pieces.push({ start: track.end!, values: filled });
  }
  track.pieces.push({ start, values });
  track.end = start + values.length;
  track.lastValue = values[values.length - 1];
  // Wait for the components that are not too far behind: whose end is not yet passed and beyond which
  // the others hold at most maxLag samples (counted in data, so a gap of all components is no lag).
  const ends = s.tracks.map((t) => knownEnd(s, t));
  const waited = ends.filter((end) => end >= s.frontier! && dataBeyond(s, end) <= s.maxLagSamples);
  const upTo = waited.length === 0 ? Math.max(...ends) : Math.min(...waited);
  return { state: s, blocks: emit(s, upTo, false, pools), events };
}

/** End of the stream or of the station's activity: passes on everything and ends the segment (in place). */
export function flushAssemble(state: AssembleState, pools: AssemblyPools = {}): AssembleStep {
  if (state.frontier === null || state.segmentStart === null) return { state, blocks: [], events: [] };
  const s = state;
  const head = Math.max(...s.tracks.map((t) => knownEnd(s, t)));
  const blocks = emit(s, head, true, pools);
  s.segmentStart = null;
  for (const track of s.tracks) {
    track.end = null;
    track.lastValue = null;
    track.pieces = [];
  }
  return { state: s, blocks, events: [] };
}

export interface AssembleStationOptions extends AssembleOptions, AssemblyPools {
  report?: ReportChannelEvent;
  /** End the segment when no chunk came for this long (wall clock; realtime use). Default: never. */
  endAfterIdleMs?: number;
  scheduler?: SchedulerLike;
}

/** assembleStation's driver (operate.ts), for compositions such as stationWindows. */
export function assembleSteps(options: AssembleStationOptions): StepDriver<ChannelChunk, StationBlock> {
  const report = options.report ?? logChannelEvent;
  const { endAfterIdleMs } = options;
  const pools: AssemblyPools = { blockData: options.blockData, chunkData: options.chunkData };
  let state: AssembleState | null = null;
  let lastChunkMs = 0;
  const ignored = new Set<string>();
  const take = (step: AssembleStep) => {
    state = step.state;
    for (const event of step.events) report(event);
    if (step.ignored !== undefined && !ignored.has(step.ignored)) {
      ignored.add(step.ignored);
      log.warn(
        { station: state.station, channel: step.ignored, components: state.components },
        'channel feeds no model component (or another channel already feeds it): ignored',
      );
    }
    return step.blocks;
  };
  return {
    push: (chunk, nowMs) => {
      lastChunkMs = nowMs;
      return take(
        pushAssemble(state ?? createAssembleState(stationOfStream(chunk.streamId), options), chunk, pools),
      );
    },
    flush: () => (state === null ? [] : take(flushAssemble(state, pools))),
    dueMs: () =>
      endAfterIdleMs === undefined || state === null || state.segmentStart === null
        ? null
        : lastChunkMs + endAfterIdleMs,
    tick: () => (state === null ? [] : take(flushAssemble(state, pools))),
  };
}

/** Throws a ConfigError for options the assembler cannot run with (when an operator is made). */
export function checkAssembleOptions(options: AssembleStationOptions): void {
  const { endAfterIdleMs } = options;
  if (endAfterIdleMs !== undefined && !(endAfterIdleMs > 0)) {
    throw new ConfigError(`endAfterIdleMs must be > 0, got ${endAfterIdleMs}`);
  }
  createAssembleState({ network: '', station: '', location: '', channelPrefix: '' }, options);
}

/** Chunks of one station's channels (see {@link perStation}) at the model rate -> StationBlocks. */
export function assembleStation(
  options: AssembleStationOptions,
): OperatorFunction<ChannelChunk, StationBlock> {
  checkAssembleOptions(options);
  return stepOperator(() => assembleSteps(options), options.scheduler);
}
