/**
 * The pure part of the replay and realtime benches: percentiles, trends, the verdict on whether a
 * realtime run kept up, /usr/bin/time's report, and aligned text tables.
 */

/** The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not within 0..100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** Least-squares slope of ys against xs (0 for fewer than two distinct xs). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError('slope needs as many xs as ys');
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Station-days of data replayed per minute of wall time. */
export function stationDaysPerMinute(stations: number, durationS: number, seconds: number): number {
  return (stations * durationS) / 86_400 / (seconds / 60);
}

/** What GNU time's `-v` report says of a process: its peak resident memory and its wall time. */
export function parseTimeVerbose(text: string): { maxRssKb?: number; elapsedS?: number } {
  const rss = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  // Elapsed is h:mm:ss or m:ss.ss.
  const elapsed = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([\d:.]+)/.exec(text);
  const elapsedS = elapsed?.[1]
    .split(':')
    .map(Number)
    .reduce((total, part) => total * 60 + part, 0);
  return {
    ...(rss ? { maxRssKb: Number(rss[1]) } : {}),
    ...(elapsedS === undefined ? {} : { elapsedS }),
  };
}

/**
 * Windows the stations' data calls for: windows start every stride from each station's first sample
 * and go out once a later sample is in (slidingWindows holds one that ends on the newest sample until
 * it knows whether the segment goes on), so only windows that end before the data's end count.
 */
export function expectedWindows(
  stationStartsUs: readonly number[],
  endUs: number,
  windowUs: number,
  strideUs: number,
): number {
  return stationStartsUs.reduce((sum, startUs) => {
    const room = endUs - startUs - windowUs;
    return sum + (room > 0 ? Math.floor((room - 1) / strideUs) + 1 : 0);
  }, 0);
}

/** What a realtime run measured that decides whether it kept up. */
export interface RealtimeEvidence {
  strideS: number;
  /** Windows the pipeline made over windows the data fed should make (upstream keeps up: ~1). */
  producedFraction: number;
  /** Per window, [arrival of its last sample (s since the feed started), latency to its probabilities (s)]. */
  latencies: [number, number][];
  /** Windows made but not yet through the network when the feed ended. */
  backlogAtFeedEnd: number;
  /** How late the feed appended its records, p99 (ms): the source process itself starved of CPU. */
  feedLatenessP99Ms: number;
}

export interface RealtimeVerdict {
  sustained: boolean;
  /** Why not (empty when sustained). */
  reasons: string[];
  /** Growth of window latency over the run, seconds per second. */
  latencyTrend: number;
}

/**
 * Whether a run kept up: each station's window is through the network before that station's next
 * window comes (p99 latency under one stride), latency does not grow over the run (a queue that grows
 * more slowly than that would still overflow a longer run: growth under 2 % of elapsed time), the
 * stream operators made the windows the data called for, and the feed itself ran on time.
 */
export function realtimeVerdict(evidence: RealtimeEvidence): RealtimeVerdict {
  const reasons: string[] = [];
  const latencyTrend = slope(
    evidence.latencies.map(([at]) => at),
    evidence.latencies.map(([, latency]) => latency),
  );
  if (evidence.latencies.length === 0) reasons.push('no window came through');
  else {
    const p99 = percentile(
      evidence.latencies.map(([, latency]) => latency),
      99,
    );
    if (p99 > evidence.strideS) reasons.push(`p99 window latency ${p99.toFixed(1)} s > stride`);
    if (latencyTrend > 0.02)
      reasons.push(`latency grows ${(100 * latencyTrend).toFixed(0)} % of elapsed time`);
  }
  if (evidence.producedFraction < 0.9) {
    reasons.push(`only ${(100 * evidence.producedFraction).toFixed(0)} % of the windows were made`);
  }
  if (evidence.feedLatenessP99Ms > 1000) {
    reasons.push(`the feed ran ${(evidence.feedLatenessP99Ms / 1000).toFixed(1)} s late (p99)`);
  }
  return { sustained: reasons.length === 0, reasons, latencyTrend };
}

/** Rows as an aligned text table: the first column left-aligned, the others right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Three significant figures, at most, for a table. */
export function figure(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}
