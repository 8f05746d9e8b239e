/**
 * The SVM step of the pseudo-labelling: a C-SVC with an RBF kernel (libsvm 3.22 compiled to
 * WebAssembly, the `libsvm-js` package of mljs) that tells right picks (1) from wrong ones (0) by
 * their features, trained on a small labelled subset. Features are standardized with the training
 * set's mean and standard deviation, so that gamma = 1 / features suits them all.
 */

export interface ClassifierOptions {
  /** Cost of a misclassified training pick. */
  cost: number;
  /** RBF gamma (default 1 / number of features). */
  gamma?: number;
  /** Weight of the wrong class against the right one (wrong picks are the rarer). */
  wrongWeight?: number;
}

export interface PickClassifier {
  /** 1 where a pick is judged right, 0 where wrong. */
  classify(features: number[][]): number[];
  free(): void;
}

export async function trainPickClassifier(
  features: readonly number[][],
  labels: readonly number[],
  options: ClassifierOptions,
): Promise<PickClassifier> {
  // Loaded here, not at the top: its WebAssembly compiles on import, which every other command skips.
  const SVM = await (await import('libsvm-js')).default;
  const width = features[0].length;
  const mean = Array.from(
    { length: width },
    (_, f) => features.reduce((s, row) => s + row[f], 0) / features.length,
  );
  const std = Array.from(
    { length: width },
    (_, f) => Math.sqrt(features.reduce((s, row) => s + (row[f] - mean[f]) ** 2, 0) / features.length) || 1,
  );
  const standard = (rows: readonly number[][]) =>
    rows.map((row) => row.map((v, f) => (v - mean[f]) / std[f]));
  const svm = new SVM({
    type: SVM.SVM_TYPES.C_SVC,
    kernel: SVM.KERNEL_TYPES.RBF,
    cost: options.cost,
    gamma: options.gamma ?? 1 / width,
    weight: { 0: options.wrongWeight ?? 1, 1: 1 },
    quiet: true,
  });
  svm.train(standard(features), [...labels]);
  return {
    classify: (rows) => (rows.length === 0 ? [] : svm.predict(standard(rows))),
    free: () => svm.free(),
  };
}
