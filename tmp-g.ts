import { loadSimulationDatasetConfig } from './src/config/load.ts';
import { writeGathers } from './src/pseudo/gathers.ts';
import { scenario } from './src/synth/scenario.ts';
const config = await loadSimulationDatasetConfig('config/pseudo-gathers.yaml');
const s = scenario(config, 0, 0); console.log(s.medium.nx, s.medium.nz, s.medium.spacingM, s.source.wavelet);
const t0 = performance.now();
writeGathers({ ...config, models: 4, seed: 99 }, '/tmp/ps/g4', { labelsInRecords: true, onGather: (d) => console.log(d, (performance.now() - t0) / 1000) });
