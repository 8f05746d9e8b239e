import * as tf from '@tensorflow/tfjs-core';

/**
 * The two gradients of a 2-D convolution, as tfjs-backend-wasm 4.22 lacks the first and computes the
 * second slowly, each done with wasm's own kernels as one more convolution, so that it runs in XNNPACK
 * rather than in loops:
 *
 * - `Conv2DBackpropFilter` (the filter gradient) is missing: without it no convolution trains on wasm
 *   (`fit` fails with "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'").
 *
 *     dW[i, j, ci, co] = sum over b, p, q of xpad[b, p*sh + i, q*sw + j, ci] * dy[b, p, q, co]
 *
 *   is a 'valid' convolution of xpad laid out [ci, H, W, b] (channels become the batch) with dy laid
 *   out [oh, ow, b, co] as the filter, dilated by the strides; its first fh x fw outputs, transposed to
 *   [fh, fw, ci, co], are dW.
 *
 * - `Conv2DBackpropInput` (the input gradient, also the forward pass of a transposed convolution) is a
 *   direct loop in wasm's C++: it took a third of a PhaseNet training step (275 of 800 ms, batch 16).
 *
 *     dx[b, i, j, ci] = sum over k, l, co of dyd[b, i + k - (fh-1-top), j + l - (fw-1-left), co] * w[fh-1-k, fw-1-l, ci, co]
 *
 *   where dyd is dy with stride - 1 zeros after each sample (dilated): a stride-1 'valid' convolution
 *   of dyd, padded by fh-1-top before, with the filter reversed in space and its channels swapped.
 *   A strided layer wastes the zeros' multiplications, and is still several times faster.
 */

type Shape4 = [number, number, number, number];

/** The attributes both gradient kernels get, with the shape of what they take the gradient of. */
type GradientAttrs<Extra> = tf.NamedAttrMap &
  Extra & {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
type Attrs = GradientAttrs<{ filterShape: Shape4 }>;
type InputAttrs = GradientAttrs<{ inputShape: Shape4 }>;

function kernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`tfjs-backend-wasm has no kernel ${name}`);
  return config.kernelFunc;
}

type StepFn = (
  name: string,
  kernelInputs: tf.NamedTensorInfoMap,
  kernelAttrs: tf.NamedAttrMap,
) => tf.TensorInfo;

/**
 * Runs `body` with `step`, which calls a wasm kernel and frees its output when the body returns (the
 * body's own result must come from a kernel called outside `step`, through `last`).
 */
function withSteps(backend: unknown, body: (step: StepFn, last: StepFn) => tf.TensorInfo): tf.TensorInfo {
  const call: StepFn = (name, kernelInputs, kernelAttrs) =>
    kernel(name)({
      inputs: kernelInputs,
      backend: backend as tf.KernelBackend,
      attrs: kernelAttrs,
    }) as tf.TensorInfo;
  const temporaries: tf.TensorInfo[] = [];
  const step: StepFn = (name, kernelInputs, kernelAttrs) => {
    const out = call(name, kernelInputs, kernelAttrs);
    temporaries.push(out);
    return out;
  };
  try {
    return body(step, call);
  } finally {
    for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
  }
}

function checkNhwc(name: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') throw new Error(`${name} on wasm supports NHWC only, not ${dataFormat}`);
}

function conv2dBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as Attrs;
  checkNhwc('Conv2DBackpropFilter', dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [fh, fw, inChannels, outChannels] = filterShape;
  const { top, left } = info.padInfo;
  // Rows (columns) the gradient reads: (out - 1) * stride + filter, from -top (-left).
  const bottom = Math.max(0, (info.outHeight - 1) * info.strideHeight + fh - top - info.inHeight);
  const right = Math.max(0, (info.outWidth - 1) * info.strideWidth + fw - left - info.inWidth);
  return withSteps(backend, (step, last) => {
    const padded = step(
      'PadV2',
      { x },
      {
        paddings: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const channelsFirst = step('Transpose', { x: padded }, { perm: [3, 1, 2, 0] });
    const dyAsFilter = step('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const correlation = step(
      'Conv2D',
      { x: channelsFirst, filter: dyAsFilter },
      {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
      },
    );
    const taps = step(
      'Slice',
      { x: correlation },
      { begin: [0, 0, 0, 0], size: [inChannels, fh, fw, outChannels] },
    );
    return last('Transpose', { x: taps }, { perm: [1, 2, 0, 3] });
  });
}

function conv2dBackpropInput({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as InputAttrs;
  checkNhwc('Conv2DBackpropInput', dataFormat);
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode);
  const [fh, fw, , outChannels] = filterShape;
  const [batch, outHeight, outWidth] = dy.shape;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  return withSteps(backend, (step, last) => {
    let dilated = dy;
    if (sh > 1 || sw > 1) {
      const spread = step('Reshape', { x: dy }, { shape: [batch, outHeight, 1, outWidth, 1, outChannels] });
      const zeros = step(
        'PadV2',
        { x: spread },
        {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sh - 1],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
      );
      dilated = step('Reshape', { x: zeros }, { shape: [batch, outHeight * sh, outWidth * sw, outChannels] });
    }
    // dx[i] reads dilated[i + k - (fh-1-top)] for k < fh: pad (or cut) to inHeight + fh - 1 rows.
    const [, dh, dw] = dilated.shape;
    const before = [fh - 1 - top, fw - 1 - left];
    const after = [inputShape[1] + fh - 1 - before[0] - dh, inputShape[2] + fw - 1 - before[1] - dw];
    const padded = step(
      'PadV2',
      { x: dilated },
      {
        paddings: [
          [0, 0],
          [Math.max(0, before[0]), Math.max(0, after[0])],
          [Math.max(0, before[1]), Math.max(0, after[1])],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const window = step(
      'Slice',
      { x: padded },
      {
        begin: [0, Math.max(0, -before[0]), Math.max(0, -before[1]), 0],
        size: [batch, inputShape[1] + fh - 1, inputShape[2] + fw - 1, outChannels],
      },
    );
    const reversed = step('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = step('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
    return last(
      'Conv2D',
      { x: window, filter: swapped },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
    );
  });
}

/**
 * Registers both kernels for wasm: the filter gradient unless tfjs-backend-wasm already has one (a
 * later version may), the input gradient in place of wasm's own.
 */
export function registerWasmConvGradients(): void {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: conv2dBackpropFilter,
    });
  }
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc !== conv2dBackpropInput) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: conv2dBackpropInput,
    });
  }
}
