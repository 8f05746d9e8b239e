import type { InferenceEngine } from '../engine/engine.ts';
import { annotateRecord, defaultAnnotateOptions } from '../picker/annotate.ts';
import { type DatasetEntry, loadOrSkip } from './dataset.ts';
import { type PhaseMetrics, type PhaseMetricsOptions, pickingMetrics, type TimedPhase } from './metrics.ts';

/**
 * Precision, recall and F1 per phase on a window dataset (event records with known arrivals): each
 * record is picked whole through the same annotate path as prediction and replay (windows, stitching,
 * detect_peaks with the card's thresholds), and its picks are matched to its arrivals with the
 * tolerance. Records are laid end to end on one time axis, a gap apart, so that one matching covers all.
 */
export async function evaluateWindows(
  engine: InferenceEngine,
  entries: readonly DatasetEntry[],
  options: PhaseMetricsOptions = {},
): Promise<Record<string, PhaseMetrics>> {
  const annotate = defaultAnnotateOptions(engine.card);
  const picks: TimedPhase[] = [];
  const arrivals: TimedPhase[] = [];
  let offsetUs = 0;
  for (const entry of entries) {
    const record = await loadOrSkip(entry);
    if (!record) continue;
    const usPerSample = 1e6 / record.samplingRate;
    const { peaks } = await annotateRecord(engine, record.data, annotate);
    for (const peak of peaks)
      picks.push({ phase: peak.phase, timeUs: offsetUs + Math.round(peak.sample * usPerSample) });
    for (const phase of ['P', 'S'] as const) {
      for (const t of record.arrivals[phase])
        arrivals.push({ phase, timeUs: offsetUs + Math.round(t * usPerSample) });
    }
    offsetUs += Math.round((record.data.length / record.channels) * usPerSample) + 60_000_000;
  }
  return pickingMetrics(picks, arrivals, options);
}
