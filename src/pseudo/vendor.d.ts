// Types of the two untyped libraries the pseudo-labelling uses (the parts PhaseStream calls).

declare module 'ml-regression-theil-sen' {
  export class TheilSenRegression {
    constructor(x: readonly number[], y: readonly number[]);
    slope: number;
    intercept: number;
  }
}

declare module 'libsvm-js' {
  interface SvmOptions {
    type?: number;
    kernel?: number;
    gamma?: number;
    cost?: number;
    weight?: Record<number, number>;
    probabilityEstimates?: boolean;
    quiet?: boolean;
  }
  interface Svm {
    train(samples: number[][], labels: number[]): void;
    predict(samples: number[][]): number[];
    predictOne(sample: number[]): number;
    free(): void;
  }
  interface SvmClass {
    new (options?: SvmOptions): Svm;
    SVM_TYPES: { C_SVC: number; NU_SVC: number; EPSILON_SVR: number };
    KERNEL_TYPES: { LINEAR: number; POLYNOMIAL: number; RBF: number; SIGMOID: number };
  }
  const loaded: Promise<SvmClass>;
  export default loaded;
}
