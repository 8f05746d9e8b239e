import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelCard } from './card.ts';
import type { PhaseNetArchitecture } from './phasenet/architecture.ts';

/**
 * Where the original PhaseNet weights come from: the checkpoint `model/190703-214543/model_95.ckpt`
 * of the PhaseNet repository (MIT, Weiqiang Zhu), pinned to one commit and checked by sha256.
 */
export const ORIGINAL_SOURCE = {
  name: 'phasenet-original',
  repository: 'AI4EPS/PhaseNet',
  commit: 'ace96ac86436d5c16a2cfd9e36cf6168d557d65c',
  directory: 'model/190703-214543',
  checkpoint: 'model_95.ckpt',
  files: {
    'model_95.ckpt.index': 'f96b553b76be4ebae9a455eaf8d83cfa8c0e110f06cfba958de2568e5b6b2780',
    'model_95.ckpt.data-00000-of-00001': '9ee2c15dd78fb15de45a55ad64a446f1a0ced152ba4ac5c506d82b9194da85b4',
  } as Record<string, string>,
  defaultBaseUrl: 'https://raw.githubusercontent.com',
};

/** Raw URL of a file of the pinned checkpoint under a base URL (GitHub's, or a mirror laid out like it). */
export function originalFileUrl(baseUrl: string, file: string): string {
  const { repository, commit, directory } = ORIGINAL_SOURCE;
  return `${baseUrl.replace(/\/+$/, '')}/${repository}/${commit}/${directory}/${file}`;
}

const MIT_LICENCE = `MIT License, Copyright (c) 2021 Weiqiang Zhu (PhaseNet, https://github.com/AI4EPS/PhaseNet).
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files, to deal in the Software without restriction, subject to the conditions of the MIT License.`;

/**
 * The card of a checkpoint in the original's format. The original's preprocessing, rates and classes;
 * `origin` says where this copy came from.
 */
export function originalCard(
  architecture: PhaseNetArchitecture,
  origin: string,
  licenceText?: string,
): ModelCard {
  const { repository, commit, directory, checkpoint, files } = ORIGINAL_SOURCE;
  return {
    format: 'phasestream-model/1',
    name: 'phasenet-original',
    version: `${directory.split('/')[1]}/${checkpoint}`,
    description:
      'PhaseNet (Zhu & Beroza, 2019, Geophys. J. Int. 216(1)), the original weights trained on Northern California data; ' +
      'imported from the TensorFlow 1 checkpoint.',
    architecture,
    samplingRate: 100,
    windowLength: 3000,
    componentOrder: ['E', 'N', 'Z'].slice(3 - architecture.inChannels),
    classes: ['noise', 'P', 'S'],
    normalization: { method: 'demean-std', scaleByNonZeroChannels: true },
    picking: { minPeakHeight: { P: 0.5, S: 0.5 }, minPeakDistanceSamples: 50 },
    source: {
      origin,
      url: `https://github.com/${repository}/tree/${commit}/${directory}`,
      commit,
      files: Object.fromEntries(Object.entries(files).map(([name, sha256]) => [name, { sha256 }])),
    },
    licence: { name: 'MIT', holder: 'Weiqiang Zhu', text: licenceText ?? MIT_LICENCE },
    trainingData:
      'About 780,000 manually picked P and S arrivals of 3-component records from the Northern California ' +
      'Earthquake Data Center (NCEDC), 100 Hz, 30 s windows (Zhu & Beroza, 2019).',
    metrics: {
      reported: {
        where: 'Zhu & Beroza (2019), NCEDC test set, 0.1 s tolerance',
        P: { precision: 0.939, recall: 0.857, F1: 0.896 },
        S: { precision: 0.853, recall: 0.755, F1: 0.801 },
      },
    },
    createdAt: new Date().toISOString(),
  };
}

/** The LICENSE beside a checkpoint, when there is one. */
export async function readLicenceBeside(checkpointPrefix: string): Promise<string | undefined> {
  const dir = checkpointPrefix.includes('/')
    ? checkpointPrefix.slice(0, checkpointPrefix.lastIndexOf('/'))
    : '.';
  return readFile(join(dir, 'LICENSE'), 'utf8').catch(() => undefined);
}
