/**
 * `created` times as Go's encoding/json writes a time.Time in UTC (RFC 3339, fraction only when non-zero,
 * trailing zeros dropped): `2024-01-01T00:00:00Z`. BuildKit writes them so, and so do we, so that an image
 * built with the same SOURCE_DATE_EPOCH has the same config bytes as BuildKit's would have there.
 */
export function formatCreated(date: Date): string {
  const iso = date.toISOString(); // always YYYY-MM-DDTHH:MM:SS.mmmZ
  const [whole, fraction = ""] = iso.slice(0, -1).split(".");
  const trimmed = fraction.replace(/0+$/, "");
  return trimmed ? `${whole}.${trimmed}Z` : `${whole}Z`;
}

export function epochDate(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** True when an RFC 3339 time is later than the epoch (an unreadable one counts as later: it gets replaced). */
export function isAfterEpoch(created: string, epochSeconds: number): boolean {
  const ms = Date.parse(created);
  return Number.isNaN(ms) || ms > epochSeconds * 1000;
}
