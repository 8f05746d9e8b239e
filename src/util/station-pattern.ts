/**
 * Station selection patterns: `NET.STA`, `NET.STA.LOC.CHA` or any leading part of it, each code with
 * `?` (one character) and `*` (any run). Used by archive selection, per-station config and
 * subscriber filters.
 */

/** A pattern compiled once, for matching many keys (`NET.STA.LOC.CHA` or a leading part). */
export function stationPattern(pattern: string): (key: string) => boolean {
  const parts = pattern.split('.').map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  );
  return (key) => {
    const keyParts = key.split('.');
    return parts.every((p, i) => p.test(keyParts[i] ?? ''));
  };
}

/** Does `NET.STA.LOC.CHA` match a selection pattern (`NET.STA`, `NET.STA.LOC.CHA`, with ? and *)? */
export function matchesStation(key: string, pattern: string): boolean {
  return stationPattern(pattern)(key);
}
