/** miniSEED 2 and 3: decoding records and files, encoding records. */
export { decodeMseedRecord } from './decode.ts';
export type { MseedEncodeOptions, MseedSeries } from './encode.ts';
export { encodeMseed, factorsFromSamplingRate } from './encode.ts';
export type { MseedReadOptions, MseedReadResult } from './reader.ts';
export { readMseedBuffer, readMseedFile, readMseedStream } from './reader.ts';
export type {
  MseedEncodingCode,
  MseedEncodingName,
  MseedProblem,
  MseedRecord,
  MseedSamples,
  MseedSourceContext,
} from './record.ts';
export { endTimeUs, isWaveformRecord, MseedEncoding, MseedRecordError, sampleTimeUs } from './record.ts';
export { isoFromEpochUs } from './time.ts';
