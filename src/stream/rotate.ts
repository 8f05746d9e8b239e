import type { StationBlock } from './types.ts';

/**
 * Rotation of a station's components to Z (up), N and E from the real orientation of its sensors
 * (StationXML's Azimuth: degrees clockwise from north; Dip: degrees down from horizontal, so an
 * upward vertical has dip -90). Channels 1 and 2 feed the model's N and E slots (component.ts);
 * with their azimuths known, each observed component is the projection of the ground motion
 * g = (Z, N, E) on the sensor's axis, x = U g, and the ground motion is g = U⁻¹ x. The inverse also
 * handles axes that are not quite orthogonal, as ObsPy's rotate2zne does.
 */

export interface SensorAxis {
  azimuthDeg: number;
  dipDeg: number;
}

/** The axis of each slot the block carries (`Z`, `N`, `E`): what feeds it, as installed. */
export type StationAxes = Record<'Z' | 'N' | 'E', SensorAxis>;

/** Row-major 3×3 from the observed (Z slot, N slot, E slot) to ground (Z up, N, E). */
export type ZneMatrix = number[];

const DEG = Math.PI / 180;

/** The unit vector of an axis in (up, north, east). */
function axisVector({ azimuthDeg, dipDeg }: SensorAxis): number[] {
  const dip = dipDeg * DEG;
  const az = azimuthDeg * DEG;
  return [-Math.sin(dip), Math.cos(dip) * Math.cos(az), Math.cos(dip) * Math.sin(az)];
}

/**
 * U⁻¹ for the axes, or undefined when they do not span space (two axes parallel, within about
 * 1°): such metadata cannot be rotated from and the data are fed as they are.
 */
export function zneMatrix(axes: StationAxes): ZneMatrix | undefined {
  const [a, b, c] = [axisVector(axes.Z), axisVector(axes.N), axisVector(axes.E)];
  const det =
    a[0] * (b[1] * c[2] - b[2] * c[1]) -
    a[1] * (b[0] * c[2] - b[2] * c[0]) +
    a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (Math.abs(det) < 0.02) return undefined;
  // The inverse of U (rows a, b, c) is the transposed cofactor matrix over the determinant.
  const cof = [
    b[1] * c[2] - b[2] * c[1],
    -(b[0] * c[2] - b[2] * c[0]),
    b[0] * c[1] - b[1] * c[0],
    -(a[1] * c[2] - a[2] * c[1]),
    a[0] * c[2] - a[2] * c[0],
    -(a[0] * c[1] - a[1] * c[0]),
    a[1] * b[2] - a[2] * b[1],
    -(a[0] * b[2] - a[2] * b[0]),
    a[0] * b[1] - a[1] * b[0],
  ];
  const inverse: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) inverse.push(cof[j * 3 + i] / det);
  return inverse;
}

/** Whether the matrix leaves the data as they are (sensors already aligned to Z, N, E). */
export function isIdentity(matrix: ZneMatrix, tolerance = 1e-9): boolean {
  return matrix.every((v, k) => Math.abs(v - (k % 4 === 0 ? 1 : 0)) <= tolerance);
}

/**
 * The block with its Z, N, E slots rotated to ground coordinates. A block missing one of them is
 * returned as it is: rotating zeros in for the missing sensor would put one horizontal's motion
 * into both.
 */
export function rotateBlock(block: StationBlock, matrix: ZneMatrix): StationBlock {
  const slots = (['Z', 'N', 'E'] as const).map((c) => block.components.indexOf(c));
  if (slots.some((k) => k < 0 || !block.present[k])) return block;
  const width = block.components.length;
  const data = Float32Array.from(block.data);
  for (let i = 0; i < block.length; i++) {
    const row = i * width;
    const x0 = block.data[row + slots[0]];
    const x1 = block.data[row + slots[1]];
    const x2 = block.data[row + slots[2]];
    for (let r = 0; r < 3; r++) {
      data[row + slots[r]] = matrix[r * 3] * x0 + matrix[r * 3 + 1] * x1 + matrix[r * 3 + 2] * x2;
    }
  }
  return { ...block, data };
}
