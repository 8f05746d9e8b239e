import * as tf from '@tensorflow/tfjs-core';
import type { LoadedModel } from '../../model/card.ts';
import { type PhaseNetArchitecture, samePadding } from '../../model/phasenet/architecture.ts';
import {
  type FoldedConv,
  type FoldedDeconv,
  type FoldedPhaseNet,
  foldPhaseNet,
} from '../../model/phasenet/fold.ts';
import { checkRunInput, type InferenceEngine } from '../engine.ts';
import { type ActiveBackend, reactivate, type TfjsBackendName, useTfjsBackend } from './backend.ts';

export type { TfjsBackendName } from './backend.ts';

export interface TfjsEngineOptions {
  backend: TfjsBackendName | 'auto';
  /** CPU threads (libtensorflow's intra-op pool; tfjs-wasm runs on one thread under Node). */
  threads?: number;
}

/** A folded convolution's tensors; filter [height, taps, in, out] for [batch, height, length, channels]. */
interface ConvTensors {
  spec: FoldedConv;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}

function convTensors(spec: FoldedConv, height = 1): ConvTensors {
  const filter = tf.tensor4d(spec.kernel, [1, spec.taps, spec.inChannels, spec.outChannels]);
  if (height === 1) return { spec, filter, bias: tf.tensor1d(spec.bias) };
  // Kernel [taps, height*c, out] as [height, taps, c, out]: the rows of a stacked input each get their
  // own slice of the input channels.
  const stacked = tf.tidy(() =>
    tf.transpose<tf.Tensor4D>(
      tf.reshape(filter, [spec.taps, height, spec.inChannels / height, spec.outChannels]),
      [1, 0, 2, 3],
    ),
  );
  filter.dispose();
  return { spec, filter: stacked, bias: tf.tensor1d(spec.bias) };
}

/**
 * Runs PhaseNet with tfjs ops directly rather than through the layers model: batch norms folded into
 * the convolutions and transposed convolutions rewritten as stride-1 convolutions plus a reshape
 * (src/model/phasenet/fold.ts), each convolution one fused conv+bias+ReLU kernel. Activations are laid
 * out [batch, 1, length, channels] with (1, taps) kernels, as tf.conv1d does; (taps, 1) measured the
 * same on tfjs-wasm. The skip join is the one place where layout matters: tfjs-wasm concatenates
 * along the last axis in JavaScript, row by row (11.5 ms for two [32, 3000, 8] tensors), so the skip
 * and the cropped up-sampled level are instead stacked as two rows, [batch, 2, length, channels]
 * (0.3 ms), and convolved with a (2, taps) kernel holding each row's part of the original kernel.
 * Lengths need not be the card's window length: padding follows TF 'SAME' for the length given.
 */
class TfjsEngine implements InferenceEngine {
  readonly name: string;
  readonly device: 'cpu' | 'gpu';
  readonly card: LoadedModel['card'];
  private readonly architecture: PhaseNetArchitecture;
  private readonly input: ConvTensors;
  private readonly down: { conv1: ConvTensors; conv3?: ConvTensors }[];
  private readonly up: { deconv: ConvTensors & { spec: FoldedDeconv }; conv1: ConvTensors }[];
  private readonly output: ConvTensors;
  private disposed = false;

  constructor(
    model: LoadedModel,
    folded: FoldedPhaseNet,
    private readonly backend: ActiveBackend,
  ) {
    this.name = `tfjs-${backend.name}`;
    this.device = backend.name === 'webgpu' || backend.name === 'tensorflow-gpu' ? 'gpu' : 'cpu';
    this.card = model.card;
    this.architecture = folded.architecture;
    this.input = convTensors(folded.input);
    this.down = folded.down.map((level) => ({
      conv1: convTensors(level.conv1),
      conv3: level.conv3 && convTensors(level.conv3),
    }));
    this.up = folded.up.map((level) => ({
      deconv: convTensors(level.deconv) as ConvTensors & { spec: FoldedDeconv },
      conv1: convTensors(level.conv1, 2),
    }));
    this.output = convTensors(folded.output);
  }

  /** A fused conv+bias(+ReLU) along the length axis; padding TF 'SAME' for the input's length unless given. */
  private conv(x: tf.Tensor4D, { spec, filter, bias }: ConvTensors, pad?: [number, number]): tf.Tensor4D {
    const same = samePadding(x.shape[2], spec.taps, spec.stride);
    const [before, after] = pad ?? [same.before, same.after];
    return tf.fused.conv2d({
      x,
      filter,
      bias,
      strides: [1, spec.stride],
      pad: [
        [0, 0],
        [0, 0],
        [before, after],
        [0, 0],
      ],
      activation: spec.relu ? 'relu' : 'linear',
    });
  }

  /** concat([skip, up cropped at (len(up) - len(skip)) // 2]) along channels, as two stacked rows. */
  private join(skip: tf.Tensor4D, up: tf.Tensor4D): tf.Tensor4D {
    const [batch, , length, channels] = skip.shape;
    const offset = Math.floor((up.shape[2] - length) / 2);
    // Flattened to [batch, length*channels], each crop and the stacking copy one block per window.
    const cropped = tf.slice(tf.reshape(up, [batch, -1]), [0, offset * channels], [batch, length * channels]);
    const stacked = tf.concat([tf.reshape(skip, [batch, -1]), cropped], 1);
    return tf.reshape<tf.Rank.R4>(stacked, [batch, 2, length, channels]);
  }

  /** The logits [batch, 1, length, classes]. */
  private forward(x: tf.Tensor4D): tf.Tensor4D {
    const { depth } = this.architecture;
    x = this.conv(x, this.input);
    const skips: tf.Tensor4D[] = [];
    for (let d = 0; d < depth; d++) {
      x = this.conv(x, this.down[d].conv1);
      skips.push(x);
      const conv3 = this.down[d].conv3;
      if (conv3) x = this.conv(x, conv3);
    }
    for (let d = depth - 2; d >= 0; d--) {
      const { deconv, conv1 } = this.up[d];
      const { phases, padBefore, padAfter } = deconv.spec;
      const wide = this.conv(x, deconv, [padBefore, padAfter]);
      const [batch, , length, channels] = wide.shape;
      // Depth to space: channel r*c + k of position m is sample m*phases + r.
      const up = tf.reshape<tf.Rank.R4>(wide, [batch, 1, length * phases, channels / phases]);
      x = this.conv(this.join(skips[d], up), conv1);
    }
    return this.conv(x, this.output);
  }

  async run(
    input: Float32Array,
    batch: number,
    length: number,
    options: { withLogits?: boolean } = {},
  ): Promise<{ probs: Float32Array; logits?: Float32Array }> {
    const channels = this.architecture.inChannels;
    checkRunInput({ engine: this.name, disposed: this.disposed, input, batch, length, channels });
    await reactivate(this.backend);
    const [probs, logits] = tf.tidy(() => {
      const x = tf.tensor4d(input, [batch, 1, length, channels]);
      const logits4 = this.forward(x);
      const classes = logits4.shape[3];
      const logits3 = tf.reshape(logits4, [batch, length, classes]);
      return [tf.softmax(logits3), options.withLogits ? logits3 : undefined] as const;
    });
    try {
      const probsData = (await probs.data()) as Float32Array;
      const logitsData = logits ? ((await logits.data()) as Float32Array) : undefined;
      return logitsData ? { probs: probsData, logits: logitsData } : { probs: probsData };
    } finally {
      tf.dispose([probs, logits].filter((t) => t !== undefined));
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const all = [this.input, ...this.down.flatMap((l) => (l.conv3 ? [l.conv1, l.conv3] : [l.conv1]))];
    all.push(...this.up.flatMap((l) => [l.deconv, l.conv1]), this.output);
    tf.dispose(all.flatMap((t) => [t.filter, t.bias]));
  }
}

/**
 * Creates the tfjs inference engine of a model on the requested backend (`auto`: the fastest that
 * loads). The weights are checked against the card's architecture and folded once, here.
 */
export async function createTfjsEngine(
  model: LoadedModel,
  options: TfjsEngineOptions,
): Promise<InferenceEngine> {
  const folded = foldPhaseNet(model.card.architecture, model.weights);
  const backend = await useTfjsBackend(options.backend, { threads: options.threads });
  return new TfjsEngine(model, folded, backend);
}
