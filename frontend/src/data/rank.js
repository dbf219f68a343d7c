// Ranking metric names against what was typed: the exact name first, then names starting with it, then names
// containing it (issue 16: "cpu" + Enter must pick cpu_usage, not acc_cpu_time), then those the server matched
// by their description; each group alphabetical.

/** 0 exact, 1 prefix, 2 substring, 3 the name does not contain it (case-insensitive). */
export function matchRank(name, needle) {
  const n = name.toLowerCase();
  const q = needle.toLowerCase();
  if (!q || n === q) return 0;
  if (n.startsWith(q)) return 1;
  return n.includes(q) ? 2 : 3;
}

/** The metrics ({name}) best first; with namesOnly, those whose name does not contain `text` are left out. */
export function rankMetrics(metrics, text, { namesOnly = false } = {}) {
  const q = text.trim();
  return metrics
    .map((m) => ({ m, r: matchRank(m.name, q) }))
    .filter(({ r }) => !namesOnly || r < 3)
    .sort((a, b) => a.r - b.r || a.m.name.localeCompare(b.m.name))
    .map(({ m }) => m);
}
