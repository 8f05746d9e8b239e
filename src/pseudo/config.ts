import { z } from 'zod';

/**
 * The pseudo-labelling configuration (`phasestream pseudolabel --config`), a YAML or JSON file
 * checked against this schema; config/pseudolabel.example.yaml lists every key with its default.
 */
export const pseudoLabelConfigSchema = z
  .object({
    candidates: z
      .object({
        /** A record's pseudo-label of a phase: its most probable peak at least this high. */
        minProbability: z.number().min(0).max(1).default(0.3),
      })
      .strict()
      .prefault({}),
    regression: z
      .object({
        /** Moveout fitted per gather and phase: linear, hyperbolic, or the one of smaller robust scale. */
        moveout: z.enum(['auto', 'linear', 'hyperbolic']).default('auto'),
        /** A pick is anomalous beyond this many robust scales from the fit. */
        threshold: z.number().positive().default(3),
        /** Floor of the robust scale (s). */
        minScaleS: z.number().positive().default(0.03),
        /** Gathers with fewer picks of a phase are not fitted (all their picks count as anomalous). */
        minPicks: z.number().int().min(3).default(6),
      })
      .strict()
      .prefault({}),
    svm: z
      .object({
        /** The first this many gathers have their true labels read (truth.csv) to train the SVM. */
        labelledGathers: z.number().int().min(1).default(5),
        cost: z.number().positive().default(1),
        /** RBF gamma; default 1 / number of features. */
        gamma: z.number().positive().optional(),
        /** Weight of the wrong class (wrong picks are the rarer). */
        wrongWeight: z.number().positive().default(2),
        /**
         * Correction: where a record's pick is anomalous or missing, its most probable peak within
         * `searchS` of the moveout (at least `minProbability`) is offered to the SVM instead.
         */
        correct: z.boolean().default(true),
        searchS: z.number().positive().default(0.25),
        correctMinProbability: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    /** Which labels go into the training records: the SVM's, the regression's, every candidate, or the truth. */
    records: z.enum(['svm', 'regression', 'raw', 'truth']).default('svm'),
    /** A pick within this of the true arrival is right (s), as evaluate's tolerance. */
    toleranceS: z.number().positive().default(0.1),
  })
  .strict();

export type PseudoLabelConfig = z.infer<typeof pseudoLabelConfigSchema>;
export type PseudoLabelConfigInput = z.input<typeof pseudoLabelConfigSchema>;
