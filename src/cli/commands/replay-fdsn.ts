import { FdsnError, UsageError } from '../../errors.ts';
import { fetchDataselect } from '../../ingest/fdsn/dataselect.ts';
import { isoFromEpochUs } from '../../ingest/mseed/time.ts';
import { log } from '../../log.ts';

export interface FdsnReplayOptions {
  fdsn: string;
  stations?: string[];
  fdsnCache?: string;
  fdsnChunk?: number;
}

/**
 * `replay --fdsn`: the selections' data over the range from fdsnws-dataselect into the cache, as
 * files for the replay. A selection without any data is named; no data at all is an error.
 */
export async function fdsnReplayFiles(
  opts: FdsnReplayOptions,
  startUs: number | undefined,
  endUs: number | undefined,
): Promise<string[]> {
  if (startUs === undefined || endUs === undefined || !opts.stations?.length) {
    throw new UsageError('--fdsn needs --stations, --start and --end', {
      hint: 'e.g. --fdsn https://service.iris.edu --stations IU.ANMO --start 2024-01-01T00:00:00Z --end 2024-01-01T01:00:00Z',
    });
  }
  const range = `between ${isoFromEpochUs(startUs)} and ${isoFromEpochUs(endUs)}`;
  const result = await fetchDataselect({
    baseUrl: opts.fdsn,
    stations: opts.stations,
    startUs,
    endUs,
    chunkS: opts.fdsnChunk,
    cacheDir: opts.fdsnCache,
    onProgress: (p) => log.info({ ...p, service: opts.fdsn }, 'fdsnws-dataselect chunk'),
  });
  for (const selection of result.empty) {
    log.warn({ service: opts.fdsn, selection }, `no data for ${selection} ${range}`);
  }
  if (result.files.length === 0) {
    throw new FdsnError(`${opts.fdsn} has no data for ${opts.stations.join(', ')} ${range} (204)`, {
      hint: 'check the codes (NET.STA, wildcards ? and *) and the time range, e.g. with the service’s own query page',
    });
  }
  log.info({ files: result.files.length, requests: result.requests }, 'fdsnws-dataselect data ready');
  return result.files;
}
