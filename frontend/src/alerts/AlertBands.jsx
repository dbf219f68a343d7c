// Alert intervals drawn on the time-series chart (pending amber, firing red), under the hover layer; the data
// comes from the history of the rules that read the charted metrics (useAlertBands).
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { TimeBands } from '../chart/TimeBands.jsx';
import { useFetch } from '../data/useFetch.js';
import { bandsOf, rulesReading } from './bands.js';

/** Bands of the rules reading `metrics` over `view` ([start, end] ms); none when `enabled` is false. */
export function useAlertBands(metrics, view, enabled, reloadKey = 0) {
  const rules = useFetch(enabled ? urls.rules() : null, reloadKey);
  const history = useFetch(enabled ? urls.alertHistory(view[0], view[1]) : null, reloadKey);
  return useMemo(() => {
    if (!enabled || !rules.data || !history.data) return [];
    const wanted = rulesReading(rules.data.data.groups, metrics);
    const mine = history.data.transitions.filter((t) => wanted.has(`${t.group}/${t.alertname}`));
    return bandsOf(mine, Math.min(view[1], Date.now()));
  }, [enabled, rules.data, history.data, metrics, view]);
}

export function AlertBands({ ctx, bands }) {
  return (
    <TimeBands ctx={ctx} items={bands} label="Alert intervals" className="alert-bands"
      keyOf={(b) => `${b.rule}-${b.state}-${b.start}-${JSON.stringify(b.labels)}`}
      classOf={(b) => `alert-band alert-band-${b.state}`} titleOf={(b) => `${b.labels.alertname || b.rule} ${b.state}`} />
  );
}
