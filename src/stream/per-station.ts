import {
  catchError,
  defer,
  EMPTY,
  filter,
  groupBy,
  mergeMap,
  type Observable,
  type OperatorFunction,
  Subject,
} from 'rxjs';
import type { StreamId } from '../ingest/stream-id.ts';
import { streamKey } from '../ingest/stream-id.ts';
import { log } from '../log.ts';
import { stationOfStream } from './component.ts';
import { type StationId, stationKey } from './types.ts';

/**
 * Grouping helpers: the per-channel and per-station operators run once per key, each with its own
 * state, so that one channel's or station's data never mixes with another's. A group whose pipeline
 * throws is reported through `onError` and closed; the others go on, and the next item of that key
 * starts it afresh (new state), so a station that sent something odd recovers by itself.
 */

export interface PerKeyOptions {
  /** A group's pipeline failed (default: a structured error log). The stream goes on. */
  onError?: (key: string, error: unknown) => void;
}

/** The default `onError`: a structured error log. */
export function logGroupFailure(key: string, error: unknown): void {
  log.error({ key, err: error }, 'stream group failed; it restarts with its next data');
}

export function perKey<T, R>(
  keyOf: (item: T) => string,
  project: (group: Observable<T>, key: string) => Observable<R>,
  options: PerKeyOptions = {},
): OperatorFunction<T, R> {
  const onError = options.onError ?? logGroupFailure;
  return (source) =>
    defer(() => {
      const failed = new Subject<string>();
      return source.pipe(
        groupBy(keyOf, { duration: (group) => failed.pipe(filter((key) => key === group.key)) }),
        mergeMap((group) =>
          project(group, group.key).pipe(
            catchError((error: unknown) => {
              onError(group.key, error);
              failed.next(group.key);
              return EMPTY;
            }),
          ),
        ),
      );
    });
}

/**
 * `keyOf(id)`, kept per id object: a channel's records and chunks share their StreamId object (the
 * decoder and the sequencer make one per channel), a station's blocks and windows their StationId, so
 * the key string of every item is built and hashed once, not per record (the ids are readonly data).
 */
function memoKey<Id extends object>(keyOf: (id: Id) => string): (id: Id) => string {
  const keys = new WeakMap<Id, string>();
  return (id) => {
    let key = keys.get(id);
    if (key === undefined) {
      key = keyOf(id);
      keys.set(id, key);
    }
    return key;
  };
}

/** NET.STA.LOC.CHA of a stream id (memoized per id object). */
export const channelKey = memoKey<StreamId>(streamKey);
/** The station key (types.ts `stationKey`) of a stream id's station (memoized per id object). */
export const stationKeyOfStream = memoKey<StreamId>((id) => stationKey(stationOfStream(id)));
const stationKeyOf = memoKey<StationId>(stationKey);

/** Items of one stream (records, chunks): NET.STA.LOC.CHA. */
export function perChannel<T extends { streamId: StreamId }, R>(
  project: (group: Observable<T>, key: string) => Observable<R>,
  options: PerKeyOptions = {},
): OperatorFunction<T, R> {
  return perKey((item) => channelKey(item.streamId), project, options);
}

/** Items of one station (NET.STA.LOC and band/instrument code): chunks by their stream, blocks and windows by their station. */
export function perStation<T extends { streamId: StreamId } | { station: StationId }, R>(
  project: (group: Observable<T>, key: string) => Observable<R>,
  options: PerKeyOptions = {},
): OperatorFunction<T, R> {
  return perKey(
    (item) => ('station' in item ? stationKeyOf(item.station) : stationKeyOfStream(item.streamId)),
    project,
    options,
  );
}
