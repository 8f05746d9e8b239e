/**
 * Picking metrics as in the PhaseNet evaluation (report section 7): a pick within the tolerance
 * (0.1 s) of a true arrival of the same phase is a true positive, any other pick a false positive,
 * an arrival without such a pick a false negative; then precision, recall, F1 and the residuals
 * (pick - arrival) of the true positives.
 *
 * Times are integer microseconds (`...Us`): at 100 Hz a residual of exactly 10 samples is 0.1 s, and in
 * float seconds whether 1234.56 - 1234.46 is within 0.1 depends on rounding; integers make the
 * tolerance exact. `secondsToUs` converts. Microseconds since the epoch stay below 2^53 until 2255.
 */

export const DEFAULT_TOLERANCE_US = 100_000;

/** Seconds (epoch or relative) to integer microseconds, rounded to the nearest. */
export function secondsToUs(seconds: number): number {
  return Math.round(seconds * 1e6);
}

export interface PickMatching {
  /** Pairs of indices into the given picks and arrivals, with residual pick - arrival. */
  matches: { pick: number; arrival: number; residualUs: number }[];
  /** Indices of the picks without an arrival, ascending by time. */
  unmatchedPicks: number[];
  /** Indices of the arrivals without a pick, ascending by time. */
  unmatchedArrivals: number[];
}

/**
 * One-to-one matching of picks to arrivals within `toleranceUs` (inclusive). Optimal, not greedy:
 * the most matches, and among those the least total |residual|. (Greedy by distance can lose a
 * match: its closest pair may take the only partner of another; greedy in time order can keep a
 * far pick over a close one.) On a line an optimal matching never crosses (if a1 < a2 and p1 < p2,
 * pairing a1-p1 and a2-p2 is as feasible and no costlier than the crossed pairs), so a dynamic
 * programme over the time-sorted lists finds it. It runs per cluster of events separated by more
 * than the tolerance, which keeps the tables small (picks of one phase are >= mpd apart).
 */
export function matchPicks(
  pickTimesUs: readonly number[],
  arrivalTimesUs: readonly number[],
  toleranceUs = DEFAULT_TOLERANCE_US,
): PickMatching {
  checkTimes(pickTimesUs, 'pick');
  checkTimes(arrivalTimesUs, 'arrival');
  if (!(toleranceUs >= 0)) throw new RangeError(`toleranceUs must be >= 0, got ${toleranceUs}`);

  type Event = { timeUs: number; index: number; isPick: boolean };
  const events: Event[] = [
    ...pickTimesUs.map((timeUs, index) => ({ timeUs, index, isPick: true })),
    ...arrivalTimesUs.map((timeUs, index) => ({ timeUs, index, isPick: false })),
  ].sort((a, b) => a.timeUs - b.timeUs || a.index - b.index || Number(a.isPick) - Number(b.isPick));

  const result: PickMatching = { matches: [], unmatchedPicks: [], unmatchedArrivals: [] };
  let from = 0;
  for (let i = 1; i <= events.length; i++) {
    if (i < events.length && events[i].timeUs - events[i - 1].timeUs <= toleranceUs) continue;
    const cluster = events.slice(from, i);
    from = i;
    const picks = cluster.filter((e) => e.isPick);
    const arrivals = cluster.filter((e) => !e.isPick);
    const matched = matchCluster(
      picks.map((e) => e.timeUs),
      arrivals.map((e) => e.timeUs),
      toleranceUs,
    );
    const pickUsed = new Set<number>();
    const arrivalUsed = new Set<number>();
    for (const [p, a] of matched) {
      pickUsed.add(p);
      arrivalUsed.add(a);
      result.matches.push({
        pick: picks[p].index,
        arrival: arrivals[a].index,
        residualUs: picks[p].timeUs - arrivals[a].timeUs,
      });
    }
    picks.forEach((e, p) => {
      if (!pickUsed.has(p)) result.unmatchedPicks.push(e.index);
    });
    arrivals.forEach((e, a) => {
      if (!arrivalUsed.has(a)) result.unmatchedArrivals.push(e.index);
    });
  }
  return result;
}

/** Optimal non-crossing matching of two sorted lists: pairs [pick, arrival] of positions. */
function matchCluster(picks: number[], arrivals: number[], toleranceUs: number): [number, number][] {
  const columns = arrivals.length + 1;
  // count/cost of the best matching of the first i picks and j arrivals, at [i * columns + j].
  const count = new Int32Array((picks.length + 1) * columns);
  const cost = new Float64Array((picks.length + 1) * columns);
  const better = (c1: number, k1: number, c2: number, k2: number) => c1 > c2 || (c1 === c2 && k1 < k2);
  for (let i = 1; i <= picks.length; i++) {
    for (let j = 1; j <= arrivals.length; j++) {
      const at = i * columns + j;
      let c = count[at - columns];
      let k = cost[at - columns];
      if (better(count[at - 1], cost[at - 1], c, k)) {
        c = count[at - 1];
        k = cost[at - 1];
      }
      const distance = Math.abs(picks[i - 1] - arrivals[j - 1]);
      const diagonal = at - columns - 1;
      if (distance <= toleranceUs && better(count[diagonal] + 1, cost[diagonal] + distance, c, k)) {
        c = count[diagonal] + 1;
        k = cost[diagonal] + distance;
      }
      count[at] = c;
      cost[at] = k;
    }
  }
  const pairs: [number, number][] = [];
  let i = picks.length;
  let j = arrivals.length;
  while (i > 0 && j > 0) {
    const at = i * columns + j;
    if (count[at] === count[at - columns] && cost[at] === cost[at - columns]) i--;
    else if (count[at] === count[at - 1] && cost[at] === cost[at - 1]) j--;
    else {
      pairs.push([i - 1, j - 1]);
      i--;
      j--;
    }
  }
  return pairs.reverse();
}

function checkTimes(times: readonly number[], what: string): void {
  for (const t of times) {
    if (!Number.isSafeInteger(t)) {
      throw new RangeError(`${what} time ${t} is not an integer number of microseconds (see secondsToUs)`);
    }
  }
}

export interface PhaseMetrics {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Unmatched picks left out because they fall inside an exclusion interval. */
  excludedPicks: number;
  /** TP / (TP + FP); 0 when there are no counted picks (scikit-learn's zero_division=0). */
  precision: number;
  /** TP / (TP + FN); 0 when there are no arrivals. */
  recall: number;
  /** 2PR / (P + R); 0 when P + R is 0. */
  f1: number;
  /** pick - arrival of every true positive, in arrival order (station by station, where stations are known). */
  residualsUs: number[];
  /** Mean of the residuals; null without true positives. */
  residualMeanUs: number | null;
  /** Population standard deviation (ddof 0, numpy's default) of the residuals; null without true positives. */
  residualStdUs: number | null;
}

export interface PhaseMetricsOptions {
  /** Default 100 000 (0.1 s, the report's). */
  toleranceUs?: number;
  /**
   * Closed intervals [startUs, endUs] whose unmatched picks are not false positives: real but
   * unlabelled signals (the continuous-dev manifest's background transients).
   */
  exclusionsUs?: readonly (readonly [number, number])[];
}

/** Metrics of one phase from its pick times and true arrival times. */
export function phaseMetrics(
  pickTimesUs: readonly number[],
  arrivalTimesUs: readonly number[],
  options: PhaseMetricsOptions = {},
): PhaseMetrics {
  const { toleranceUs = DEFAULT_TOLERANCE_US, exclusionsUs = [] } = options;
  const { matches, unmatchedPicks, unmatchedArrivals } = matchPicks(pickTimesUs, arrivalTimesUs, toleranceUs);
  const excluded = unmatchedPicks.filter((p) =>
    exclusionsUs.some(([start, end]) => pickTimesUs[p] >= start && pickTimesUs[p] <= end),
  ).length;
  return metricsFromCounts(
    matches.length,
    unmatchedPicks.length - excluded,
    unmatchedArrivals.length,
    excluded,
    [...matches].sort((a, b) => a.arrival - b.arrival).map((m) => m.residualUs),
  );
}

function metricsFromCounts(
  tp: number,
  fp: number,
  fn: number,
  excluded: number,
  residualsUs: number[],
): PhaseMetrics {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const mean = tp === 0 ? null : residualsUs.reduce((a, b) => a + b, 0) / tp;
  const std =
    mean === null ? null : Math.sqrt(residualsUs.reduce((a, r) => a + (r - mean) * (r - mean), 0) / tp);
  return {
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    excludedPicks: excluded,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    residualsUs,
    residualMeanUs: mean,
    residualStdUs: std,
  };
}

export interface TimedPhase {
  /** 'P' or 'S' (any label: phases are matched only with their own kind). */
  phase: string;
  timeUs: number;
  /** `NET.STA`, where known: a pick then matches only an arrival at its own station. */
  station?: string;
}

/**
 * Metrics per phase: picks are matched only to arrivals of their own phase and, when the arrivals
 * name their stations (a network's truth), of their own station; counts then add up over stations.
 * Phases are those given in `phases` (default P and S; a phase without picks or arrivals still gets
 * its zero entry).
 */
export function pickingMetrics(
  picks: readonly TimedPhase[],
  arrivals: readonly TimedPhase[],
  options: PhaseMetricsOptions & { phases?: readonly string[] } = {},
): Record<string, PhaseMetrics> {
  const { phases = ['P', 'S'], ...rest } = options;
  const byStation = arrivals.some((a) => a.station !== undefined);
  const groupOf = (x: TimedPhase) => (byStation ? (x.station ?? '') : '');
  return Object.fromEntries(
    phases.map((phase) => {
      const groups = new Map<string, { picks: number[]; arrivals: number[] }>();
      const add = (x: TimedPhase, kind: 'picks' | 'arrivals') => {
        if (x.phase !== phase) return;
        const group = groups.get(groupOf(x)) ?? { picks: [], arrivals: [] };
        group[kind].push(x.timeUs);
        groups.set(groupOf(x), group);
      };
      for (const p of picks) add(p, 'picks');
      for (const a of arrivals) add(a, 'arrivals');
      const parts = [...groups.values()].map((g) => phaseMetrics(g.picks, g.arrivals, rest));
      const sum = (key: 'truePositives' | 'falsePositives' | 'falseNegatives' | 'excludedPicks') =>
        parts.reduce((total, m) => total + m[key], 0);
      const metrics = metricsFromCounts(
        sum('truePositives'),
        sum('falsePositives'),
        sum('falseNegatives'),
        sum('excludedPicks'),
        parts.flatMap((m) => m.residualsUs),
      );
      return [phase, metrics];
    }),
  );
}
