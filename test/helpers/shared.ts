import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared material (`../shared` beside the clone: reference, models, golden data, datasets).
 * A user's clone may not have it; tests that need it skip with this message.
 */
export const sharedDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared');

export const sharedPath = (...parts: string[]) => join(sharedDir, ...parts);

/** The `skip` option for a tap test that needs `../shared/<part>`: false when present, else the reason. */
export function skipUnlessShared(...parts: string[]): false | string {
  const path = sharedPath(...parts);
  return existsSync(path) ? false : `needs ${path} (the shared material beside the clone; CI has it)`;
}
