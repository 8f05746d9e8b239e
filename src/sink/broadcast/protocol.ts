import { z } from 'zod';
import type { Pick } from '../../picker/pick.ts';
import { stationPattern } from '../../util/station-pattern.ts';

/**
 * The WebSocket protocol (docs/sinks.md): JSON text messages, each with the protocol version `v`
 * and a `type`. A client asks for named streams (`picks` today; a live web page can add others on
 * the same server) with a filter each; the server answers with the stream's items, heartbeats and
 * gap notices. A message of an unknown type is an error the client can ignore.
 */
export const PROTOCOL_VERSION = 1;

/** A subscriber's pick filter: every given condition must hold (an absent one lets all through). */
export const pickFilterSchema = z.strictObject({
  /** Network codes, with ? and *. */
  networks: z.array(z.string().min(1)).optional(),
  /** `NET.STA` (or `NET.STA.LOC`) patterns, with ? and *. */
  stations: z.array(z.string().min(1)).optional(),
  phases: z.array(z.string().min(1)).optional(),
  minProbability: z.number().min(0).max(1).optional(),
  /**
   * Pick statuses wanted (provisional, final, revised, retracted); `["final"]` gives only what no
   * later data changes, as a replay would. Absent: every step of every pick's life.
   */
  statuses: z
    .array(z.enum(['provisional', 'final', 'revised', 'retracted']))
    .min(1)
    .optional(),
});
export type PickFilter = z.infer<typeof pickFilterSchema>;

export const subscribeRequestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  type: z.literal('subscribe'),
  /** The streams wanted; a stream subscribed again takes the new filter. */
  streams: z.array(z.string().min(1)).min(1),
  filter: z.record(z.string(), z.unknown()).optional(),
  /** Replay the history's items at or after this time (ISO 8601; for picks, the pick time). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Replay the history's items after this sequence number (resuming after a reconnect). */
  afterSeq: z.number().int().min(0).optional(),
});
export type SubscribeRequest = z.infer<typeof subscribeRequestSchema>;

export const clientMessageSchema = z.discriminatedUnion('type', [
  subscribeRequestSchema,
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    type: z.literal('unsubscribe'),
    streams: z.array(z.string().min(1)).min(1),
  }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ServerMessage =
  | { v: 1; type: 'hello'; streams: string[]; heartbeatS: number; history: Record<string, number> }
  | { v: 1; type: 'subscribed'; stream: string; filter: unknown; replay: number; seq: number }
  | { v: 1; type: 'unsubscribed'; stream: string }
  | { v: 1; type: 'pick'; stream: 'picks'; seq: number; pick: PickMessage }
  | { v: 1; type: 'heartbeat'; time: string; seq: Record<string, number> }
  | {
      v: 1;
      type: 'gap';
      stream: string;
      /** Items this client did not get, and the sequence numbers they had. */
      missed: number;
      fromSeq: number;
      toSeq: number;
      reason: 'slow-client' | 'history';
    }
  | { v: 1; type: 'error'; error: string; message: string };

/** A pick as sent to subscribers: the pick file's keys. */
export type PickMessage = Omit<Pick, 'timeUs'>;

/** One kind of item a server broadcasts: how a subscriber filters it and how `since` places it. */
export interface StreamKind<T, F> {
  name: string;
  parseFilter(raw: unknown): F;
  /** The filter compiled once per subscription. */
  compile(filter: F): (item: T) => boolean;
  /** The item's time (epoch µs), for `since`. */
  timeUs(item: T): number;
  message(item: T, seq: number): { v: 1; type: string };
  /**
   * Streams of bulky items few clients want (the live page's waveforms) keep no history and are
   * serialized only for a client that matches; a new subscription starts from `initial` instead.
   */
  keepHistory?: boolean;
  initial?(filter: F): T[];
}

export const picksStream: StreamKind<Pick, PickFilter> = {
  name: 'picks',
  parseFilter: (raw) => pickFilterSchema.parse(raw ?? {}),
  compile: compilePickFilter,
  timeUs: (pick) => pick.timeUs,
  message: (pick, seq) => {
    const { timeUs: _, ...rest } = pick;
    return { v: 1, type: 'pick', stream: 'picks', seq, pick: rest };
  },
};

export function compilePickFilter(filter: PickFilter): (pick: Pick) => boolean {
  const networks = filter.networks?.map(stationPattern);
  const stations = filter.stations?.map(stationPattern);
  const phases = filter.phases && new Set(filter.phases);
  const minProbability = filter.minProbability ?? 0;
  const statuses = filter.statuses && new Set<string>(filter.statuses);
  return (pick) =>
    pick.probability >= minProbability &&
    (statuses === undefined || statuses.has(pick.status)) &&
    (phases === undefined || phases.has(pick.phase)) &&
    (networks === undefined || networks.some((m) => m(pick.network))) &&
    (stations === undefined || stations.some((m) => m(`${pick.network}.${pick.station}.${pick.location}`)));
}
