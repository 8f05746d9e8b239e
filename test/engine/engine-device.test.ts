import t from 'tap';
import { batchSizeFor } from '../../src/app/pipeline.ts';
import { checkConfig } from '../../src/config/load.ts';
import { createEngine } from '../../src/engine/index.ts';
import { vulkanDriverFiles as driverFiles, hasGpuDeviceNode } from '../../src/engine/webgpu.ts';
import { log } from '../../src/log.ts';
import { randomOriginalModel } from '../../src/model/phasenet/random-weights.ts';

log.level = 'silent';

t.test('a GPU gets batches of 1024 windows, a CPU 32, unless the config says', async (t) => {
  const config = checkConfig({});
  t.equal(batchSizeFor({ device: 'gpu' } as never, config), 1024);
  t.equal(batchSizeFor({ device: 'cpu' } as never, config), 32);
  t.equal(batchSizeFor({} as never, config), 32, 'an engine that does not say runs on the CPU');
  const sized = checkConfig({ batching: { size: 256 } });
  t.equal(batchSizeFor({ device: 'gpu' } as never, sized), 256);
});

t.test('--device cpu is the CPU provider, whatever adapters exist', async (t) => {
  const engine = await createEngine(randomOriginalModel(), {
    engine: 'onnxruntime',
    backend: 'auto',
    device: 'cpu',
  });
  t.equal(engine.name, 'onnxruntime-cpu');
  t.equal(engine.device, 'cpu');
  await engine.dispose();
});

t.test('Vulkan drivers are looked for where the Vulkan loader looks', async (t) => {
  const root = t.testdir({
    share: { vulkan: { 'icd.d': { 'lvp_icd.json': '{}', 'notes.txt': '' } } },
    'extra.json': '{}',
  });
  const lvp = `${root}/share/vulkan/icd.d/lvp_icd.json`;
  const base = { XDG_DATA_DIRS: `${root}/share` };
  // /etc/vulkan/icd.d is always searched; only what lies under the test's directory is asserted.
  const vulkanDriverFiles = (env: NodeJS.ProcessEnv) => driverFiles(env).filter((f) => f.startsWith(root));
  t.same(vulkanDriverFiles(base), [lvp], 'the ICD files of the data directories');
  t.same(vulkanDriverFiles({ XDG_DATA_DIRS: `${root}/none` }), [], 'none: Dawn is not started');
  t.same(vulkanDriverFiles({ ...base, VK_ADD_DRIVER_FILES: `${root}/extra.json` }), [
    `${root}/extra.json`,
    lvp,
  ]);
  t.same(
    vulkanDriverFiles({ ...base, VK_ICD_FILENAMES: `${root}/missing.json` }),
    [],
    'a named file replaces the search',
  );
});

t.test('a GPU device node is a DRM render node or an NVIDIA device file', async (t) => {
  t.equal(hasGpuDeviceNode(t.testdir({})), false, 'none');
  t.equal(
    hasGpuDeviceNode(t.testdir({ dri: { card0: '' }, nvidiactl: '' })),
    false,
    'no render node, no GPU',
  );
  t.equal(hasGpuDeviceNode(t.testdir({ dri: { renderD128: '' } })), true, 'a render node');
  t.equal(hasGpuDeviceNode(t.testdir({ nvidia0: '' })), true, 'an NVIDIA GPU');
});
