import { TestScheduler } from 'rxjs/testing';
import type { Test } from 'tap';

/** A TestScheduler whose frames compare with tap's strictSame (typed arrays compared as plain arrays). */
export function marbles(t: Test): TestScheduler {
  return new TestScheduler((actual, expected) => t.strictSame(plain(actual), plain(expected)));
}

/** A deep copy with typed arrays turned into plain arrays, for readable, exact comparisons. */
export function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** A deterministic pseudo-random generator, so failures reproduce. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
