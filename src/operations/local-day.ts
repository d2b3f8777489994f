/**
 * The start of the current day in an IANA time zone (CA_TIME_ZONE, UTC by default), for
 * figures such as "revocations today". Computed with Intl, not the process's TZ, so that every
 * node of a deployment agrees whatever its host's zone.
 */

/** Whether `timeZone` names an IANA zone this Node.js knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant`, in milliseconds (east positive). */
function offsetAt(timeZone: string, instant: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(instant))
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<string, number>;
  const asUtc = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** Local midnight of the day `now` falls on in `timeZone`. */
export function startOfLocalDay(now: Date, timeZone: string): Date {
  const instant = now.getTime();
  const local = new Date(instant + offsetAt(timeZone, instant));
  const midnightAsUtc = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  // The offset at midnight may differ from the offset now (a DST change during the day).
  let start = midnightAsUtc - offsetAt(timeZone, midnightAsUtc);
  start = midnightAsUtc - offsetAt(timeZone, start);
  return new Date(start);
}
