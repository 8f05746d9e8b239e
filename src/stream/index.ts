/** The stream layer: decoded records to batches of normalized windows (docs/stream.md). */
export { type AssembleOptions, type AssembleStationOptions, assembleStation } from './assemble-station.ts';
export { type BatchWindowsOptions, batchWindows } from './batch-windows.ts';
export { channelParts, stationOfStream } from './component.ts';
export { type DecodeRecordsOptions, decodeRecords, type RecordBytes } from './decode-records.ts';
export { indexFromTimeUs, timeUsFromIndex } from './grid.ts';
export { type PerKeyOptions, perChannel, perKey, perStation } from './per-station.ts';
export { type StationWindowsOptions, stationWindows } from './pipeline.ts';
export { logChannelEvent, type ReportChannelEvent } from './report.ts';
export { resampleChannel } from './resample-channel.ts';
export { type SequenceChannelOptions, type SequenceRecord, sequenceChannel } from './sequence-channel.ts';
export { type SlidingWindowsOptions, slidingWindows } from './sliding-windows.ts';
export * from './types.ts';
