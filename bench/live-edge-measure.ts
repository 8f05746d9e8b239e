/**
 * What the live-edge lane gives, from the picks a live run emitted (each with the wall time it came
 * out) and when the data of each instant reached PhaseStream: delays of provisional and final picks,
 * how the provisional ones ended, and their precision against the final picks. Pure functions, used
 * by bench/live-edge-realtime.ts.
 */
import type { Pick } from '../src/picker/pick.ts';
import { percentile } from './pipeline-measure.ts';

export interface EmittedPick {
  pick: Pick;
  emittedAtMs: number;
}

/** When a record of a station arrived: [startUs, endUs) of its samples and the wall clock. */
export type RecordArrival = [startUs: number, endUs: number, arrivedAtMs: number];

/**
 * When the data of `timeUs` at a station arrived: `first`, the first record (any component) holding
 * it; `all`, when every component's record holding it had come (what a station's block waits for).
 */
export function arrivalOf(
  arrivals: readonly RecordArrival[],
  timeUs: number,
): { first: number; all: number } | undefined {
  const covering = arrivals.filter(([a, b]) => a <= timeUs && timeUs < b).map(([, , at]) => at);
  if (covering.length === 0) return undefined;
  return { first: Math.min(...covering), all: Math.max(...covering) };
}

const spread = (values: number[]) =>
  values.length === 0
    ? { count: 0 }
    : {
        count: values.length,
        p50: percentile(values, 50),
        p90: percentile(values, 90),
        p99: percentile(values, 99),
      };

export interface LaneReport {
  provisional: number;
  final: number;
  confirmed: number;
  revised: number;
  retracted: number;
  /** Seconds from the data's arrival (first component / all components) to the pick. */
  provisionalDelayS: { first: ReturnType<typeof spread>; all: ReturnType<typeof spread> };
  finalDelayS: { first: ReturnType<typeof spread>; all: ReturnType<typeof spread> };
  /** Share of final picks that had a provisional pick of their phase within `withinS`, before them. */
  finalsWithProvisional: number;
  /** Share of provisional picks with a final pick of their phase within `withinS`. */
  precisionWithin: number;
  /** Share of provisional picks the final path confirmed or revised (not retracted). */
  precisionKept: number;
  withinS: number;
}

export function laneReport(
  emitted: readonly EmittedPick[],
  arrivals: ReadonlyMap<string, readonly RecordArrival[]>,
  withinS = 0.2,
): LaneReport {
  const station = (p: Pick) => `${p.network}.${p.station}`;
  const of = (status: Pick['status']) => emitted.filter((e) => e.pick.status === status);
  const provisional = of('provisional');
  const finals = of('final');
  const within = withinS * 1e6;
  const close = (a: Pick, b: Pick) =>
    station(a) === station(b) && a.phase === b.phase && Math.abs(a.timeUs - b.timeUs) <= within;
  const delays = (list: EmittedPick[]) => {
    const first: number[] = [];
    const all: number[] = [];
    for (const e of list) {
      const at = arrivalOf(arrivals.get(station(e.pick)) ?? [], e.pick.timeUs);
      if (!at) continue;
      first.push((e.emittedAtMs - at.first) / 1000);
      all.push((e.emittedAtMs - at.all) / 1000);
    }
    return { first: spread(first), all: spread(all) };
  };
  const provisionalIds = new Set(provisional.map((e) => e.pick.id));
  return {
    provisional: provisional.length,
    final: finals.length,
    confirmed: finals.filter((e) => provisionalIds.has(e.pick.id)).length,
    revised: of('revised').length,
    retracted: of('retracted').length,
    provisionalDelayS: delays(provisional),
    finalDelayS: delays(finals),
    finalsWithProvisional:
      finals.filter((f) => provisional.some((p) => p.emittedAtMs <= f.emittedAtMs && close(p.pick, f.pick)))
        .length / Math.max(1, finals.length),
    precisionWithin:
      provisional.filter((p) => finals.some((f) => close(p.pick, f.pick))).length /
      Math.max(1, provisional.length),
    precisionKept: 1 - of('retracted').length / Math.max(1, provisional.length),
    withinS,
  };
}
