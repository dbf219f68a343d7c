// The data of the line panel, prepared for drawing: which /api/query requests the view needs (focus and
// overview), their answers as coloured series, and the axis layout (one axis per unit). The panel only lays
// out what this returns (as Grafana's timeseries panel composes what prepareGraphableFields made).
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { buildQueryString, partitionQueries } from '../api/query.js';
import { AXIS_WIDTH, useAxisLayout } from '../chart/axisLayout.js';
import { colorAt } from '../chart/palette.js';
import { stackSeries } from '../chart/stack.js';
import { chartOf, effectiveAgg } from '../model.js';
import { displayUnit, isAllEmpty, toSeries } from './series.js';
import { useFetchAll } from './useFetch.js';

const SEP = '\u0001';

/**
 * The /api/query URLs of a line chart of `picks` in a chart area `width` px wide: {plotWidth, mainUrls (its focus,
 * over `view`), overviewUrls (over `range`)}, none while the width is unknown (0). typeOf(name): the metric's type,
 * undefined before the catalog is in. Pure: the page also asks for these before React starts (earlyRequests.js).
 */
export function lineQueryUrls({ picks, typeOf, agg, gran, tz, range, view, width }) {
  const parts = partitionQueries(picks, typeOf, agg);
  // The width asked of the server does not wait for the catalog (the metrics' units decide how many axes the
  // plot has): it assumes one axis on each side, the common case. With one axis the server sends ~5 % more bins
  // than the plot has pixels, with three or four a few fewer; the chart's first request then leaves with the
  // catalog's instead of after it (issue 16: no request waits on another it does not need).
  const plotWidth = Math.max(50, width - 2 * AXIS_WIDTH);
  const mode = gran === 'auto' ? { width: plotWidth } : { granularity: gran };
  const ask = (start, end, m) => (width
    ? parts.map((p) => urls.query(buildQueryString({ ...p, start, end, ...m, tz }))) : []);
  return { plotWidth, mainUrls: ask(view[0], view[1], mode), overviewUrls: ask(range[0], range[1], { width: plotWidth }) };
}

/**
 * picks, metaOf(name), range (the whole period), view (the zoomed part), state (gran, agg), width (px of the
 * chart area, 0 until measured), tz, reloadKey → {layout, plotWidth, mainUrls, main, over, series, overview,
 * empty, bins}. No request is sent before the width is known, so the first one already has the right width.
 */
export function useLineData({ picks, metaOf, range, view, state, width, tz, reloadKey }) {
  const typeOf = (name) => metaOf(name)?.type;
  const { plotWidth, mainUrls, overviewUrls } = lineQueryUrls({
    picks, typeOf, agg: state.agg, gran: state.gran, tz, range, view, width,
  });
  const expected = picks.map((p, i) => ({
    unit: displayUnit(metaOf(p.name)?.unit, effectiveAgg(typeOf(p.name), state.agg)), color: colorAt(i),
  }));
  const shared = overviewUrls.join() === mainUrls.join();
  const main = useFetchAll(mainUrls, reloadKey, { first: true });
  const over = useFetchAll(shared ? [] : overviewUrls, reloadKey, { first: true });

  // The series depend on the answers and each metric's chart type only: the catalog arriving after the data
  // (with the same types) leaves them, and so the drawn chart, as they are (one drawing pass, not two).
  const styles = picks.map((p) => `${p.name}${SEP}${chartOf(p, typeOf(p.name) || 'gauge')}`).join(SEP);
  const series = useMemo(() => {
    const parts = styles.split(SEP);
    const style = new Map(parts.flatMap((v, i) => (i % 2 ? [] : [[v, parts[i + 1]]])));
    return stackSeries(toSeries(main.data, (name) => style.get(name) || 'line'));
  }, [main.data, styles]);
  const overview = useMemo(() => (shared ? series : toSeries(over.data)), [shared, series, over.data]);
  const layout = useAxisLayout(main.data ? series : expected);
  return {
    layout, plotWidth, mainUrls, main, over, series, overview,
    empty: series.length === 0 || isAllEmpty(series),
    bins: main.data?.[0]?.bins,
  };
}
