import type { Pick } from './pick.ts';

/**
 * The life of a pick: the live edge gives it early as `provisional`, the stitched path decides.
 *
 * Identity: a pick's id comes from its station, phase, time on the sample grid and model (pick.ts),
 * and a final pick is exactly what `phasestream replay` gives for the same data, id included, with or
 * without the live edge. So:
 * - **confirmed**: the final pick falls on the provisional one's sample. Same id: the final pick
 *   replaces the provisional one under the id it had (a file has both lines, InfluxDB one point,
 *   the page one mark).
 * - **revised**: the final pick lies within `matchToleranceUs` of it, elsewhere. The provisional pick
 *   comes again with status `revised` and `finalId` naming the final pick, which follows under its
 *   own (replay's) id. The provisional id is never reused for another instant.
 * - **retracted**: no final pick of its phase came within the tolerance once the stitched path passed
 *   its time. The provisional pick comes again with status `retracted`.
 * A provisional pick always ends as exactly one of these; a final pick is passed on unchanged. A
 * provisional pick that comes after the stitched path passed its time (a lane running late) or after
 * its final pick is not given at all.
 *
 * When the stitched path has passed a time is told by `frontier` inputs: the end of a station's
 * stitched (finished) probabilities less the peak tracker's reach. Picks of the step that finished
 * those samples come after its frontier (pick-phases.ts calls `onProbabilities` before it emits the
 * step's picks), so a frontier takes effect with the next one (or the end).
 *
 * State: per station, the pending provisional picks and the recent final ones, as plain data. A step
 * takes the state over, as the stitcher's does: it replaces the one station's entry in place and
 * returns the same object (a copy of every station's entry per input cost 7.5 ms a frontier at 5,000
 * stations, which come with every window).
 */

export type LifecycleInput =
  | { kind: 'provisional'; pick: Pick }
  | { kind: 'final'; pick: Pick }
  | { kind: 'frontier'; station: string; timeUs: number };

export interface StationLifecycle {
  pending: Pick[];
  /** Final picks of the last while: a provisional pick arriving after its final one is dropped. */
  finals: { phase: string; timeUs: number }[];
  /** The last frontier given, which takes effect with the next one. */
  frontierUs: number | null;
}

export type LifecycleState = Record<string, StationLifecycle>;

/** How far past a provisional pick the stitched path must be before it is retracted. */
export const RETRACT_MARGIN_US = 10_000_000;
/** How far back (data time) from a station's newest final pick its final picks are kept. */
const FINALS_KEPT_US = 60e6;

export interface LifecycleOptions {
  /** How far a final pick may be from a provisional one of its phase and still settle it. */
  matchToleranceUs: number;
}

const keyOf = (p: Pick) => `${p.network}.${p.station}.${p.location}.${p.channel}`;

export function stepLifecycle(
  state: LifecycleState,
  options: LifecycleOptions,
  input: LifecycleInput,
): { state: LifecycleState; picks: Pick[] } {
  const tolerance = options.matchToleranceUs;
  const key = input.kind === 'frontier' ? input.station : keyOf(input.pick);
  const station = state[key] ?? { pending: [], finals: [], frontierUs: null };
  const near = (a: { phase: string; timeUs: number }, b: { phase: string; timeUs: number }) =>
    a.phase === b.phase && Math.abs(a.timeUs - b.timeUs) <= tolerance;
  let next: StationLifecycle;
  let picks: Pick[];
  if (input.kind === 'provisional') {
    const { pick } = input;
    // Already settled: a final pick of it came, or the stitched path has passed it (a late lane), or
    // it is older than the final picks kept (one of them may have been it: a lane that fell more
    // than FINALS_KEPT_US behind after a reconnection's backlog gave a provisional pick after its
    // final one).
    const passed = station.frontierUs !== null && pick.timeUs < station.frontierUs - tolerance;
    const newestFinal = station.finals.at(-1);
    const beyondFinals = newestFinal !== undefined && pick.timeUs < newestFinal.timeUs - FINALS_KEPT_US;
    const known =
      passed ||
      beyondFinals ||
      station.finals.some((f) => near(f, pick)) ||
      station.pending.some((p) => near(p, pick));
    next = known ? station : { ...station, pending: [...station.pending, pick] };
    picks = known ? [] : [pick];
  } else if (input.kind === 'final') {
    const { pick } = input;
    let match: Pick | undefined;
    for (const p of station.pending) {
      if (
        near(p, pick) &&
        (!match || Math.abs(p.timeUs - pick.timeUs) < Math.abs(match.timeUs - pick.timeUs))
      )
        match = p;
    }
    picks =
      match && match.id !== pick.id ? [{ ...match, status: 'revised', finalId: pick.id }, pick] : [pick];
    // Finals older than any provisional pick still to come (one window back) are not needed.
    const horizon = pick.timeUs - FINALS_KEPT_US;
    next = {
      ...station,
      pending: station.pending.filter((p) => p !== match),
      finals: [
        ...station.finals.filter((f) => f.timeUs >= horizon),
        { phase: pick.phase, timeUs: pick.timeUs },
      ],
    };
  } else {
    const settled = station.frontierUs;
    // The tracker holds a peak back while candidates keep coming within its reach of each other: a
    // margin past the frontier keeps a retraction from coming before a late final pick.
    const stale = (p: Pick) => settled !== null && p.timeUs < settled - tolerance - RETRACT_MARGIN_US;
    picks = station.pending.filter(stale).map(retract);
    next = { ...station, pending: station.pending.filter((p) => !stale(p)), frontierUs: input.timeUs };
  }
  state[key] = next;
  return { state, picks };
}

/** End of the stream: every pick still provisional is retracted (the final path has said all). */
export function endLifecycle(state: LifecycleState): { state: LifecycleState; picks: Pick[] } {
  const picks = Object.values(state).flatMap((s) => s.pending.map(retract));
  const next = Object.fromEntries(Object.entries(state).map(([k, s]) => [k, { ...s, pending: [] }]));
  return { state: next, picks };
}

const retract = (p: Pick): Pick => ({ ...p, status: 'retracted' });
