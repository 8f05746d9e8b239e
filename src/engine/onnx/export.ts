import onnxProto from 'onnx-proto';
import {
  levelFilters,
  type PhaseNetArchitecture,
  type PhaseNetWeights,
} from '../../model/phasenet/architecture.ts';
import { type FoldedConv, type FoldedDeconv, foldPhaseNet } from '../../model/phasenet/fold.ts';

const { onnx } = onnxProto;
type NodeAttribute = onnxProto.onnx.IAttributeProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** Opset 17: well supported by onnxruntime (1.12 and later), and has Shape(start, end) (opset 15). */
export const ONNX_OPSET = 17;
/** IR version 8 goes with opsets up to 17 (onnx 1.12). */
const ONNX_IR_VERSION = 8;

/**
 * Inside the graph a signal is [batch, channels, 1, length]: every convolution is 2-D with a (1, k)
 * kernel, time on the last (W) axis. Measured with onnxruntime-node 1.30 on a 2-core AVX2 machine,
 * one thread, batch 32 (an earlier version of this graph): (k, 1) kernels on [N, C, T, 1] ran ~480-600
 * windows/s, (1, k) kernels on [N, C, 1, T] ~1,100-1,200; the blocked NCHWc kernels loop over W.
 */
const TIME_AXIS = 3;
const kernel2d = (k: number) => [1, k];
const pads2d = (before: number, after: number) => [0, before, 0, after];

export interface OnnxExportOptions {
  /** Stored in metadata_props and the doc string, e.g. from the model card. */
  name?: string;
  version?: string;
  source?: string;
  description?: string;
  /**
   * Debug export: also output every intermediate activation, named as in `onnxIntermediateNames`,
   * in the graph's internal layout [batch, channels, 1, length].
   */
  intermediateOutputs?: boolean;
  /**
   * How the two halves of each up level's first convolution are joined: `Sum` for onnxruntime's CPU
   * provider (its NCHWc transformer fuses Sum-13 into the convolution, not Add-14), `Add` for its
   * WebGPU provider, which has no Sum kernel: with Sum, the four joins ran on the CPU provider and
   * every run copied their inputs off the device and back. The same numbers either way. Default `Sum`.
   */
  skipJoin?: 'Sum' | 'Add';
}

/**
 * Names of the intermediate activations a debug export outputs, in the order the network computes
 * them, one to one with the original's (Input_relu, DownConv_0/relu1, DownConv_0/relu3_stride4, …,
 * UpConv_0/relu1). `upD_deconv` is the up-sampled level after its ReLU and the TF SAME crop
 * [1 : 1 + 4n], before the skip crop; `upD_concat` is concat([skip, up cropped]).
 */
export function onnxIntermediateNames(arch: PhaseNetArchitecture): string[] {
  const names = ['input_conv'];
  for (let d = 0; d < arch.depth; d++) {
    names.push(`down${d}_conv1`);
    if (d < arch.depth - 1) names.push(`down${d}_conv3`);
  }
  for (let d = arch.depth - 2; d >= 0; d--) names.push(`up${d}_deconv`, `up${d}_concat`, `up${d}_conv1`);
  return names;
}

const ints = (name: string, values: number[]): NodeAttribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): NodeAttribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});
const str = (name: string, value: string): NodeAttribute => ({
  name,
  type: onnx.AttributeProto.AttributeType.STRING,
  s: new TextEncoder().encode(value),
});

function floatValueInfo(name: string, dims?: (number | string)[]): ValueInfo {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape } } };
}

/** Collects nodes, initializers and shape hints; value names are unique because layer names are. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly valueInfo: ValueInfo[] = [];

  floatTensor(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      // raw_data is little-endian, as is every platform onnxruntime-node ships for.
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }

  int64Tensor(name: string, values: number[]): string {
    const i64 = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(i64.buffer),
    });
    return name;
  }

  node(opType: string, inputs: string[], output: string, attributes: NodeAttribute[] = []): string {
    this.nodes.push({ opType, name: output, input: inputs, output: [output], attribute: attributes });
    return output;
  }
}

/** A folded kernel [taps, in, out], input channels [inFrom, inTo), as ONNX W [out, in, 1, taps]. */
function onnxKernel(
  g: GraphBuilder,
  name: string,
  conv: FoldedConv,
  inFrom = 0,
  inTo = conv.inChannels,
): string {
  const { taps, inChannels, outChannels, kernel } = conv;
  const cin = inTo - inFrom;
  const w = new Float32Array(outChannels * cin * taps);
  for (let u = 0; u < taps; u++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let co = 0; co < outChannels; co++) {
        w[(co * cin + ci) * taps + u] = kernel[(u * inChannels + inFrom + ci) * outChannels + co];
      }
    }
  }
  return g.floatTensor(name, [outChannels, cin, ...kernel2d(taps)], w);
}

/**
 * TF SAME at stride 1 is a fixed pad of (k-1)/2 before (rounded down), the rest after. At stride s
 * it depends on n mod s; ONNX SAME_UPPER is the same rule (total pad for ceil(n/s) outputs, the
 * smaller half before), so strided convs use it and any length works (tests: 3000, 3001, 97, 1).
 */
function samePadAttributes(taps: number, stride: number): NodeAttribute[] {
  const kernelShape = ints('kernel_shape', kernel2d(taps));
  if (stride > 1) return [kernelShape, str('auto_pad', 'SAME_UPPER'), ints('strides', [1, stride])];
  const before = Math.floor((taps - 1) / 2);
  return [kernelShape, ints('pads', pads2d(before, taps - 1 - before))];
}

/** A folded conv (+ ReLU, which onnxruntime fuses into its NCHWc convolution). */
function conv(g: GraphBuilder, input: string, spec: FoldedConv): string {
  const out = g.node(
    'Conv',
    [
      input,
      onnxKernel(g, `${spec.name}/W`, spec),
      g.floatTensor(`${spec.name}/B`, [spec.outChannels], spec.bias),
    ],
    spec.relu ? `${spec.name}/conv` : spec.name,
    samePadAttributes(spec.taps, spec.stride),
  );
  return spec.relu ? g.node('Relu', [out], spec.name) : out;
}

/**
 * The up level's conv1 on concat([skip, up]) written as conv(skip) + conv(up) (it is linear in its
 * input): onnxruntime then accumulates one convolution into the other (its NCHWc Conv+Sum fusion,
 * ReLU fused too), and there is no concatenated copy. With the Concat, the copy and the layout
 * conversions around it (Concat runs in plain NCHW) took ~4 ms of ~30 per batch of 32 on one thread.
 * The fusion needs proof that both parts have the same shape, which onnxruntime's shape inference
 * cannot give through the Slice with run-time bounds, so both are declared [batch, channels, 1, length_d].
 */
function upConv(
  g: GraphBuilder,
  skip: string,
  up: string,
  spec: FoldedConv,
  d: number,
  skipChannels: number,
  join: 'Sum' | 'Add',
) {
  const attributes = samePadAttributes(spec.taps, 1);
  const bias = g.floatTensor(`${spec.name}/B`, [spec.outChannels], spec.bias);
  const skipKernel = onnxKernel(g, `${spec.name}/W_skip`, spec, 0, skipChannels);
  const upKernel = onnxKernel(g, `${spec.name}/W_up`, spec, skipChannels);
  const fromSkip = g.node('Conv', [skip, skipKernel, bias], `${spec.name}/from_skip`, attributes);
  const fromUp = g.node('Conv', [up, upKernel], `${spec.name}/from_up`, attributes);
  for (const v of [fromSkip, fromUp])
    g.valueInfo.push(floatValueInfo(v, ['batch', spec.outChannels, 1, `length_${d}`]));
  return g.node('Relu', [g.node(join, [fromUp, fromSkip], `${spec.name}/sum`)], spec.name);
}

/**
 * The transposed convolution as folded (src/model/phasenet/fold.ts): a stride-1 conv with
 * phases*channels outputs (channel r*channels + c at position m is sample m*phases + r), then a
 * depth-to-space reshape to [N, channels, 1, phases*n] — the TF SAME output before the skip crop.
 */
function deconv(g: GraphBuilder, input: string, spec: FoldedDeconv): string {
  const { name, phases, outChannels, padBefore, padAfter, taps } = spec;
  const channels = outChannels / phases;
  const wide = g.node(
    'Conv',
    [input, onnxKernel(g, `${name}/W`, spec), g.floatTensor(`${name}/B`, [outChannels], spec.bias)],
    `${name}/conv`,
    [ints('kernel_shape', kernel2d(taps)), ints('pads', pads2d(padBefore, padAfter))],
  );
  const relu = g.node('Relu', [wide], `${name}/relu`);
  // [N, phases*c, 1, n] -> [N, phases, c, n] -> [N, c, n, phases] -> [N, c, 1, n*phases]
  const split = g.node(
    'Reshape',
    [relu, g.int64Tensor(`${name}/split_shape`, [0, phases, channels, -1])],
    `${name}/split`,
  );
  const interleaved = g.node('Transpose', [split], `${name}/interleaved`, [ints('perm', [0, 2, 3, 1])]);
  return g.node('Reshape', [interleaved, g.int64Tensor(`${name}/shape`, [0, channels, 1, -1])], name);
}

/**
 * Lengths of every level from the input's Shape: n(d+1) = ceil(n(d) / stride). Taken from `x`, not
 * from the activations: a Shape of an activation makes onnxruntime copy it out of its blocked layout.
 */
function levelLengthValues(g: GraphBuilder, depth: number, stride: number): string[] {
  const lengths = [g.node('Shape', ['x'], 'length_0', [int('start', 1), int('end', 2)])];
  const strideMinusOne = g.int64Tensor('stride_minus_one', [stride - 1]);
  const strideValue = g.int64Tensor('stride', [stride]);
  for (let d = 1; d < depth; d++) {
    const rounded = g.node('Add', [lengths[d - 1], strideMinusOne], `length_${d}_rounded_up`);
    lengths.push(g.node('Div', [rounded, strideValue], `length_${d}`));
  }
  return lengths;
}

/** The original crops the up-sampled level (stride*n(d+1) long) at (len(up) - len(skip)) // 2 to n(d). */
function cropUp(g: GraphBuilder, up: string, lengths: string[], d: number, stride: number): string {
  const name = `up${d}_crop`;
  const upLength = g.node(
    'Mul',
    [lengths[d + 1], g.int64Tensor(`${name}/stride`, [stride])],
    `${name}/up_length`,
  );
  const excess = g.node('Sub', [upLength, lengths[d]], `${name}/excess`);
  const start = g.node('Div', [excess, g.int64Tensor(`${name}/two`, [2])], `${name}/start`);
  const end = g.node('Add', [start, lengths[d]], `${name}/end`);
  return g.node('Slice', [up, start, end, g.int64Tensor(`${name}/axes`, [TIME_AXIS])], name);
}

/**
 * Softmax over classes on [N, classes, L] as exp(l - max) / sum: onnxruntime's Softmax on the last
 * axis of [N, L, 3] spends its time per row of 3 (2.4 ms per batch of 32 on one thread, these 0.6 ms).
 */
function softmaxOverClasses(g: GraphBuilder, logits: string): string {
  const max = g.node('ReduceMax', [logits], 'logits_max', [ints('axes', [1])]);
  const exp = g.node('Exp', [g.node('Sub', [logits, max], 'logits_shifted')], 'logits_exp');
  const sum = g.node('ReduceSum', [exp, g.int64Tensor('class_axis', [1])], 'logits_exp_sum');
  return g.node('Div', [exp, sum], 'probs_channels_first');
}

/**
 * Writes PhaseNet as an ONNX model (opset 17) from PhaseStream's own weights: input `x`
 * [batch, length, inChannels] float32, outputs `logits` and `probs` [batch, length, classes], batch
 * and length dynamic. It runs the folded network of src/model/phasenet/fold.ts (batch norms inside the
 * convolutions, transposed convolutions as convolutions), which moves outputs by ~1e-7 and saves a
 * pass over every activation. `architecture` is usually the model card's.
 */
export function exportPhaseNetOnnx(
  architecture: PhaseNetArchitecture,
  weights: PhaseNetWeights,
  options: OnnxExportOptions = {},
): Uint8Array {
  const folded = foldPhaseNet(architecture, weights);
  const { depth, stride, classes, inChannels } = architecture;
  const g = new GraphBuilder();

  const x = g.node(
    'Transpose',
    [g.node('Unsqueeze', ['x', g.int64Tensor('x_axes', [1])], 'x_n1tc')],
    'x_nc1t',
    [ints('perm', [0, 3, 1, 2])],
  );
  let h = conv(g, x, folded.input);
  const skips: string[] = [];
  for (let d = 0; d < depth; d++) {
    const { conv1, conv3 } = folded.down[d];
    h = conv(g, h, conv1);
    skips.push(h);
    if (conv3) h = conv(g, h, conv3);
  }
  const lengths = levelLengthValues(g, depth, stride);
  for (let d = depth - 2; d >= 0; d--) {
    const up = cropUp(g, deconv(g, h, folded.up[d].deconv), lengths, d, stride);
    if (options.intermediateOutputs) g.node('Concat', [skips[d], up], `up${d}_concat`, [int('axis', 1)]);
    const skipChannels = levelFilters(architecture, d);
    h = upConv(g, skips[d], up, folded.up[d].conv1, d, skipChannels, options.skipJoin ?? 'Sum');
  }
  const logits4 = conv(g, h, folded.output);
  const logits3 = g.node('Squeeze', [logits4, g.int64Tensor('output_axes', [2])], 'logits_channels_first');
  const toChannelsLast = [ints('perm', [0, 2, 1])];
  g.node('Transpose', [logits3], 'logits', toChannelsLast);
  g.node('Transpose', [softmaxOverClasses(g, logits3)], 'probs', toChannelsLast);

  const outputs = [
    floatValueInfo('logits', ['batch', 'length', classes]),
    floatValueInfo('probs', ['batch', 'length', classes]),
  ];
  if (options.intermediateOutputs)
    outputs.push(...onnxIntermediateNames(architecture).map((n) => floatValueInfo(n)));

  const name = options.name ?? 'phasenet';
  const metadata: Record<string, string> = {
    name,
    version: options.version ?? '',
    source: options.source ?? '',
    architecture: JSON.stringify(architecture),
    input: `x [batch, length, ${inChannels}] float32: windows normalized as the model card says`,
    outputs: `logits, probs [batch, length, ${classes}] in the model card's class order`,
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'phasestream',
    producerVersion: '1',
    docString: [
      `${name}: PhaseNet (Zhu & Beroza, 2019), a U-Net picking seismic P and S phases, written by PhaseStream`,
      `from its own weights. ${options.description ?? ''}`.trim(),
      `Input x [batch, length, ${inChannels}]; outputs logits and probs [batch, length, ${classes}].`,
      'Batch norms are folded into the convolutions; the transposed convolutions are rewritten as convolutions.',
    ].join('\n'),
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name,
      node: g.nodes,
      initializer: g.initializers,
      input: [floatValueInfo('x', ['batch', 'length', inChannels])],
      output: outputs,
      valueInfo: g.valueInfo,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
