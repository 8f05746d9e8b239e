import { streamKey } from '../ingest/stream-id.ts';
import { log } from '../log.ts';
import type { ChannelEvent } from './types.ts';

/** Where the stream operators send discontinuities and oddities; the stream itself goes on. */
export type ReportChannelEvent = (event: ChannelEvent) => void;

/** The default when no `report` is given: one structured warning per event. */
export const logChannelEvent: ReportChannelEvent = (event) =>
  log.warn({ ...event, streamId: streamKey(event.streamId) }, `stream ${event.kind}`);
