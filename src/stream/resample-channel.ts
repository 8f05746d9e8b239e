import type { OperatorFunction } from 'rxjs';
import { ConfigError } from '../errors.ts';
import type { StreamId } from '../ingest/stream-id.ts';
import { type StepDriver, stepOperator } from './operate.ts';
import { designResampler } from './resample-filter.ts';
import type { ChannelChunk } from './types.ts';

/**
 * One channel's chunks -> the same signal at `targetRate`, on the target rate's absolute grid.
 *
 * Output sample m (at time m / targetRate) is the filtered value at exactly that time, computed from
 * the input samples around it (resample-filter.ts); an output is passed on once the input reaches half
 * the filter past it, so the delay is the filter's half length (0.19 s for 200 Hz, 0.45 s for 40 Hz
 * input) and the output is not shifted. A segment (contiguous input) gives outputs over the time it
 * spans, [first, last] input sample: the filter's reach past the segment's ends sees the first and the
 * last sample repeated, which leaves a trace with a DC offset undisturbed at its ends (zeros there
 * would make a ramp the picker could take for an arrival). A gap or a rate change ends the segment
 * (its last outputs come out then) and starts a new one. Chunks already at the target rate (within
 * 1 ppm) pass through untouched.
 *
 * The state is plain data (JSON-safe): the input history the filter still needs, at most its length.
 */

const RATE_TOLERANCE = 1e-6;

export interface ResampleState {
  targetRate: number;
  streamId: StreamId | null;
  /** Rate of the open segment; null when none is open. */
  inputRate: number | null;
  /** First input index of the segment, and its value (the filter's left extension). */
  firstIndex: number;
  firstValue: number;
  /** Input index after the last one received. */
  nextInput: number;
  /** Input samples from `historyStart` to `nextInput`. */
  historyStart: number;
  history: number[];
  /** Output index of the next output sample. */
  nextOutput: number;
}

export interface ResampleStep {
  state: ResampleState;
  chunks: ChannelChunk[];
}

export function createResampleState(targetRate: number): ResampleState {
  if (!(targetRate > 0) || !Number.isFinite(targetRate)) {
    throw new ConfigError(`the target sampling rate must be a positive number, got ${targetRate}`);
  }
  return {
    targetRate,
    streamId: null,
    inputRate: null,
    firstIndex: 0,
    firstValue: 0,
    nextInput: 0,
    historyStart: 0,
    history: [],
    nextOutput: 0,
  };
}

function closed(state: ResampleState): ResampleState {
  return { ...state, inputRate: null, history: [] };
}

/** Output samples [from, to) of the open segment; `final` extends past the last input sample. */
function outputs(state: ResampleState, from: number, to: number): Float64Array {
  const filter = designResampler(state.inputRate!, state.targetRate);
  const { up, down } = filter;
  const { history, historyStart, firstIndex, firstValue, nextInput } = state;
  const lastValue = history[history.length - 1];
  const y = new Float64Array(Math.max(0, to - from));
  for (let m = from; m < to; m++) {
    const position = m * down;
    const q = Math.floor(position / up);
    const { firstOffset, weights } = filter.phases[position - q * up];
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      const n = q + firstOffset + i;
      const x = n < firstIndex ? firstValue : n >= nextInput ? lastValue : history[n - historyStart];
      sum += x * weights[i];
    }
    y[m - from] = sum;
  }
  return y;
}

function chunkOf(state: ResampleState, startIndex: number, samples: Float64Array): ChannelChunk[] {
  if (samples.length === 0) return [];
  return [{ streamId: state.streamId!, samplingRate: state.targetRate, startIndex, samples }];
}

/** Ends the open segment: its last outputs, through the time of its last input sample. */
export function flushResample(state: ResampleState): ResampleStep {
  if (state.inputRate === null) return { state, chunks: [] };
  const { up, down } = designResampler(state.inputRate, state.targetRate);
  const end = Math.floor(((state.nextInput - 1) * up) / down) + 1;
  const chunks = chunkOf(state, state.nextOutput, outputs(state, state.nextOutput, end));
  return { state: { ...closed(state), nextOutput: end }, chunks };
}

const sameRate = (a: number, b: number) => Math.abs(a - b) <= RATE_TOLERANCE * Math.max(a, b);

/** Adds one chunk; a chunk that does not continue the open segment (gap, new rate) ends it first. */
export function pushResample(state: ResampleState, chunk: ChannelChunk): ResampleStep {
  const chunks: ChannelChunk[] = [];
  const open = state.inputRate !== null;
  if (open && (!sameRate(state.inputRate!, chunk.samplingRate) || chunk.startIndex !== state.nextInput)) {
    const ended = flushResample(state);
    state = ended.state;
    chunks.push(...ended.chunks);
  }
  // A channel's chunks share their StreamId (sequenceChannel's): no new state per chunk at the rate.
  if (state.streamId !== chunk.streamId) state = { ...state, streamId: chunk.streamId };
  if (sameRate(chunk.samplingRate, state.targetRate)) {
    chunks.push(
      chunk.samplingRate === state.targetRate ? chunk : { ...chunk, samplingRate: state.targetRate },
    );
    return { state, chunks };
  }
  if (chunk.samples.length === 0) return { state, chunks };
  const { up, down, halfLength } = designResampler(chunk.samplingRate, state.targetRate);
  if (state.inputRate === null) {
    state = {
      ...state,
      inputRate: chunk.samplingRate,
      firstIndex: chunk.startIndex,
      firstValue: chunk.samples[0],
      nextInput: chunk.startIndex,
      historyStart: chunk.startIndex,
      history: [],
      nextOutput: Math.ceil((chunk.startIndex * up) / down),
    };
  }
  const history = state.history.concat(Array.from(chunk.samples));
  const nextInput = state.nextInput + chunk.samples.length;
  // Outputs whose filter reach (halfLength on the upsampled grid) ends at or before the last input.
  const end = Math.max(state.nextOutput, Math.floor(((nextInput - 1) * up - halfLength) / down) + 1);
  const grown = { ...state, history, nextInput };
  chunks.push(...chunkOf(grown, state.nextOutput, outputs(grown, state.nextOutput, end)));
  // Keep the inputs the next output reaches back to (and the last one, for the right extension).
  const keepFrom = Math.max(
    state.firstIndex,
    Math.min(Math.ceil((end * down - halfLength) / up), nextInput - 1),
  );
  const drop = Math.max(0, keepFrom - grown.historyStart);
  return {
    state: {
      ...grown,
      history: history.slice(drop),
      historyStart: grown.historyStart + drop,
      nextOutput: end,
    },
    chunks,
  };
}

/** resampleChannel's driver (operate.ts), for compositions such as stationWindows. */
export function resampleSteps(targetRate: number): StepDriver<ChannelChunk, ChannelChunk> {
  let state = createResampleState(targetRate);
  const take = (step: ResampleStep) => {
    state = step.state;
    return step.chunks;
  };
  return {
    push: (chunk) => take(pushResample(state, chunk)),
    flush: () => take(flushResample(state)),
  };
}

/**
 * Chunks of one channel -> chunks at `targetRate` (the model's, 100 Hz). Throws a WaveformFormatError
 * for a rate that has no small up/down ratio to the target (the per-channel helper reports it).
 */
export function resampleChannel(targetRate: number): OperatorFunction<ChannelChunk, ChannelChunk> {
  createResampleState(targetRate);
  return stepOperator(() => resampleSteps(targetRate));
}
