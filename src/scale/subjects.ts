import type { StreamId } from '../ingest/stream-id.ts';
import type { Pick } from '../picker/pick.ts';

/**
 * The names on the log (docs/scale-out.md). Records: `ps.records.<partition>.NET.STA.LOC.CHA`, the
 * partition a stable hash of NET.STA, so that a worker filters its partitions' records with one
 * wildcard each; picks: `ps.picks.NET.STA`. The partition is computed here, not by the server's
 * subject mapping, so that the partition count lives in the validated config alone (2.9's mappings
 * are account config, outside PhaseStream's reach).
 */

/** An empty location code as SEED writes it: a subject token cannot be empty. */
const EMPTY_LOCATION = '--';

/** A code as a subject token: NATS tokens may not hold `.`, `*`, `>` or white space. */
function token(code: string): string {
  if (code === '') return EMPTY_LOCATION;
  return code.replace(/[.*>\s]/g, '_');
}

/**
 * The partition of station NET.STA among `partitions`: FNV-1a (32 bit) of `NET.STA`, modulo. Stable
 * across processes, versions and platforms: workers and ingest must agree on it.
 */
export function partitionOf(network: string, station: string, partitions: number): number {
  let hash = 0x811c9dc5;
  const text = `${network}.${station}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export function recordSubject(id: StreamId, partition: number): string {
  return `ps.records.${partition}.${token(id.network)}.${token(id.station)}.${token(id.location)}.${token(id.channel)}`;
}

/** Every record (and the end mark) of one partition. */
export function partitionFilter(partition: number): string {
  return `ps.records.${partition}.>`;
}

/**
 * The end of an archive replay, published on each partition after its last record: the worker then
 * flushes the partition's stations, so the picks at the end of the data come out as a replay's do.
 */
export function endSubject(partition: number): string {
  return `ps.records.${partition}.end`;
}

export function isEndSubject(subject: string): boolean {
  return subject.endsWith('.end') && subject.split('.').length === 4;
}

/**
 * A record's message id: the same record published again (an ingest restarted, a SeedLink server
 * sending the packet twice) has the same id, and the stream's duplicate window drops it.
 */
export function recordMessageId(id: StreamId, startTimeUs: number, sequenceNumber = ''): string {
  return `${id.network}.${id.station}.${id.location}.${id.channel}/${startTimeUs}/${sequenceNumber}`;
}

export function pickSubject(pick: Pick): string {
  return `ps.picks.${token(pick.network)}.${token(pick.station)}`;
}

/** Every pick subject. */
export const PICKS_FILTER = 'ps.picks.>';
export const RECORDS_FILTER = 'ps.records.>';

/** A pick's message id: its id and status (each step of a pick's life is a message of its own). */
export function pickMessageId(pick: Pick): string {
  return `${pick.id}/${pick.status}`;
}
