import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradient of a 2-D convolution with respect to its filter (kernel `Conv2DBackpropFilter`), which
 * tfjs-backend-wasm 4.22 lacks: without it no convolution trains on wasm (`fit` fails with "Kernel
 * 'Conv2DBackpropFilter' not registered for backend 'wasm'"). It is computed with wasm's own kernels
 * as one more convolution, so it runs in XNNPACK rather than in JavaScript loops:
 *
 *   dW[i, j, ci, co] = sum over b, p, q of xpad[b, p*sh + i, q*sw + j, ci] * dy[b, p, q, co]
 *
 * is a 'valid' convolution of xpad laid out [ci, H, W, b] (channels become the batch) with dy laid out
 * [oh, ow, b, co] as the filter, dilated by the strides; its first fh x fw outputs, transposed to
 * [fh, fw, ci, co], are dW.
 */

type Attrs = tf.NamedAttrMap & {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

function kernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`tfjs-backend-wasm has no kernel ${name}`);
  return config.kernelFunc;
}

function conv2dBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as Attrs;
  if (dataFormat !== 'NHWC')
    throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, not ${dataFormat}`);
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
  const call = (name: string, kernelInputs: tf.NamedTensorInfoMap, kernelAttrs: tf.NamedAttrMap) =>
    kernel(name)({ inputs: kernelInputs, backend, attrs: kernelAttrs }) as tf.TensorInfo;
  const temporaries: tf.TensorInfo[] = [];
  const step = (name: string, kernelInputs: tf.NamedTensorInfoMap, kernelAttrs: tf.NamedAttrMap) => {
    const out = call(name, kernelInputs, kernelAttrs);
    temporaries.push(out);
    return out;
  };
  try {
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
    return call('Transpose', { x: taps }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
  }
}

/** Registers the kernel for wasm unless tfjs-backend-wasm already has one (a later version may). */
export function registerWasmConvFilterGradient(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilter,
  });
}
