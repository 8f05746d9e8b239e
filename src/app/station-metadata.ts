import { loadStationXml, type StationInventory, sensorAxesLookup } from '../ingest/stationxml.ts';
import { log } from '../log.ts';
import type { Pick as PhasePick } from '../picker/pick.ts';
import type { PipelineHooks } from './pipeline.ts';

/** The station metadata a config names (`stations.xml`), as the pipeline uses it. */
export interface StationMetadata {
  inventory: StationInventory;
  hooks: Pick<PipelineHooks, 'sensorAxes' | 'locate'>;
}

export async function loadStationMetadata(source: string | undefined): Promise<StationMetadata | undefined> {
  if (source === undefined) return undefined;
  const inventory = await loadStationXml(source);
  log.info(
    { source, stations: inventory.stations.size, channels: inventory.channels.length },
    'station metadata read',
  );
  const locate = (pick: PhasePick): PhasePick => {
    const at = inventory.stations.get(`${pick.network}.${pick.station}`);
    return at ? { ...pick, ...at } : pick;
  };
  return { inventory, hooks: { sensorAxes: sensorAxesLookup(inventory), locate } };
}
