/**
 * miniSEED times as integer microseconds since 1970-01-01T00:00:00Z. Both formats store a start time
 * as year, day of year, hour, minute, second and a fraction; a second of 60 (a positive leap second)
 * counts as the first second of the next minute, as POSIX time does.
 */

const US_PER_DAY = 86_400_000_000;

/** Epoch microseconds of a calendar time given as year and day of year (1 = 1 January). */
export function epochUsFromYearDay(
  year: number,
  dayOfYear: number,
  hour: number,
  minute: number,
  second: number,
  microsecond: number,
): number {
  const dayMs = Date.UTC(year, 0, 1);
  return (
    dayMs * 1000 +
    (dayOfYear - 1) * US_PER_DAY +
    ((hour * 60 + minute) * 60 + second) * 1_000_000 +
    microsecond
  );
}

export interface YearDayTime {
  year: number;
  dayOfYear: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 to 999999 */
  microsecond: number;
}

/** The calendar fields of epoch microseconds `timeUs` (inverse of {@link epochUsFromYearDay}). */
export function yearDayFromEpochUs(timeUs: number): YearDayTime {
  const dayIndex = Math.floor(timeUs / US_PER_DAY);
  const inDayUs = timeUs - dayIndex * US_PER_DAY;
  const date = new Date(dayIndex * 86_400_000);
  const year = date.getUTCFullYear();
  const dayOfYear = (dayIndex * 86_400_000 - Date.UTC(year, 0, 1)) / 86_400_000 + 1;
  const inDayS = Math.floor(inDayUs / 1_000_000);
  return {
    year,
    dayOfYear,
    hour: Math.floor(inDayS / 3600),
    minute: Math.floor(inDayS / 60) % 60,
    second: inDayS % 60,
    microsecond: inDayUs - inDayS * 1_000_000,
  };
}

/** ISO 8601 with microseconds, `2011-03-31T00:00:00.000000Z`: messages and logs. */
export function isoFromEpochUs(timeUs: number): string {
  const ms = Math.floor(timeUs / 1000);
  const iso = new Date(ms).toISOString();
  const subMs = String(timeUs - ms * 1000).padStart(3, '0');
  return `${iso.slice(0, -1)}${subMs}Z`;
}
