import { z } from 'zod';
import type { StreamKind } from '../sink/broadcast/protocol.ts';
import { chunkData, type LiveView, type StoredChunk, type TraceKind } from './live-view.ts';
import type { PageStreamMessage, ReplayProgress, StationsSnapshot } from './messages.ts';

const traceFilterSchema = z.strictObject({
  /** Station keys `NET.STA.LOC.BAND`, exactly: a page watches one station, not a pattern. */
  stations: z.array(z.string().min(1)).min(1).max(16),
});
type TraceFilter = z.infer<typeof traceFilterSchema>;

const noFilter = { parseFilter: () => ({}), compile: () => () => true };

function traceStream(
  view: LiveView,
  name: 'waveforms' | 'probabilities',
  kind: TraceKind,
): StreamKind<StoredChunk, TraceFilter> {
  return {
    name,
    parseFilter: (raw) => traceFilterSchema.parse(raw ?? {}),
    compile: (filter) => {
      const stations = new Set(filter.stations);
      return (chunk) => stations.has(chunk.station);
    },
    timeUs: (chunk) => chunk.startUs,
    message: (chunk, seq): PageStreamMessage =>
      kind === 'waveform'
        ? { v: 1, type: 'waveform', stream: 'waveforms', seq, ...chunkData(chunk) }
        : { v: 1, type: 'probability', stream: 'probabilities', seq, ...chunkData(chunk) },
    keepHistory: false,
    initial: (filter) => filter.stations.flatMap((key) => view.history(kind, key)),
  };
}

/**
 * The streams the live page needs besides `picks`, on the same rebroadcast: the station list, the
 * watched station's waveforms and probabilities (each subscription starts with the station's
 * history) and a replay's progress. None keeps a history of its own: the live view holds it.
 */
export function pageStreams(view: LiveView): StreamKind<unknown, unknown>[] {
  const stations: StreamKind<StationsSnapshot, object> = {
    name: 'stations',
    ...noFilter,
    timeUs: (snapshot) => snapshot.clockUs,
    message: (snapshot, seq): PageStreamMessage => ({
      v: 1,
      type: 'stations',
      stream: 'stations',
      seq,
      ...snapshot,
    }),
    keepHistory: false,
    initial: () => [view.stations()],
  };
  const progress: StreamKind<ReplayProgress, object> = {
    name: 'progress',
    ...noFilter,
    timeUs: () => Date.now() * 1000,
    message: (p, seq): PageStreamMessage => ({ v: 1, type: 'progress', stream: 'progress', seq, ...p }),
    keepHistory: false,
    initial: () => view.latestProgress(),
  };
  return [
    stations,
    traceStream(view, 'waveforms', 'waveform'),
    traceStream(view, 'probabilities', 'probability'),
    progress,
  ] as StreamKind<unknown, unknown>[];
}
