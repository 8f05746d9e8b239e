import { findGpuAdapter } from '../../src/engine/webgpu.ts';

/**
 * The `skip` option for a test that needs a WebGPU adapter: false where one exists (a GPU, or Mesa's
 * software lavapipe), else the reason. CI installs lavapipe (.ci/install-lavapipe) and sets
 * PHASESTREAM_REQUIRE_WEBGPU=1, so that there a missing adapter fails instead of skipping.
 */
export async function skipUnlessWebGpu(): Promise<false | string> {
  try {
    await findGpuAdapter();
    return false;
  } catch (error) {
    const reason = `needs a WebGPU adapter (${(error as Error).message}); install a Vulkan driver, e.g. Mesa's lavapipe: sudo bash .ci/install-lavapipe`;
    if (process.env.PHASESTREAM_REQUIRE_WEBGPU === '1')
      throw new Error(`PHASESTREAM_REQUIRE_WEBGPU=1 but ${reason}`);
    return reason;
  }
}
