// The data of the line panel, prepared for drawing: which /api/query requests the view needs (focus and
// overview), their answers as coloured series, and the axis layout (one axis per unit). The panel only lays
// out what this returns (as Grafana's timeseries panel composes what prepareGraphableFields made).
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { buildQueryString, partitionQueries } from '../api/query.js';
import { assignAxes } from '../chart/axisLayout.js';
import { colorAt } from '../chart/palette.js';
import { stackSeries } from '../chart/stack.js';
import { chartOf, effectiveAgg } from '../model.js';
import { displayUnit, isAllEmpty, toSeries } from './series.js';
import { useFetchAll } from './useFetch.js';

const SEP = '\u0001';

/**
 * Axis layout from units and colours, memoised on them only, so a refresh with the same series keeps the
 * same layout object (and the chart does not redraw its axes).
 */
function useLayout(src) {
  const signature = src.map((s) => `${s.unit}${SEP}${s.color}`).join(SEP);
  return useMemo(() => {
    const parts = signature ? signature.split(SEP) : [];
    const list = [];
    for (let i = 0; i < parts.length; i += 2) list.push({ unit: parts[i], color: parts[i + 1] });
    return assignAxes(list);
  }, [signature]);
}

/**
 * picks, metaOf(name), range (the whole period), view (the zoomed part), state (gran, agg), width (px of the
 * chart area, 0 until measured), tz, reloadKey → {layout, plotWidth, mainUrls, main, over, series, overview,
 * empty, bins}. No request is sent before the width is known, so the first one already has the right width.
 */
export function useLineData({ picks, metaOf, range, view, state, width, tz, reloadKey }) {
  const typeOf = (name) => metaOf(name)?.type;
  const parts = partitionQueries(picks, typeOf, state.agg);
  // The units the answer will have are known from the catalog (a counter's rate is per second), so the first
  // request already asks for the plot width the chart is drawn at; colours come with the answer.
  const expected = picks.map((p, i) => ({
    unit: displayUnit(metaOf(p.name)?.unit, effectiveAgg(typeOf(p.name), state.agg)), color: colorAt(i),
  }));
  const frame = useLayout(expected);
  const plotWidth = Math.max(50, width - frame.marginLeft - frame.marginRight);
  const mode = state.gran === 'auto' ? { width: plotWidth } : { granularity: state.gran };
  const ask = (start, end, m) => parts.map((p) => urls.query(buildQueryString({ ...p, start, end, ...m, tz })));
  const mainUrls = width ? ask(view[0], view[1], mode) : [];
  const overviewUrls = width ? ask(range[0], range[1], { width: plotWidth }) : [];
  const shared = overviewUrls.join() === mainUrls.join();
  const main = useFetchAll(mainUrls, reloadKey);
  const over = useFetchAll(shared ? [] : overviewUrls, reloadKey);

  const series = useMemo(
    () => stackSeries(toSeries(main.data, (name) => chartOf(picks.find((p) => p.name === name) || {}, metaOf(name)?.type || 'gauge'))),
    [main.data, picks, metaOf],
  );
  const overview = useMemo(() => (shared ? series : toSeries(over.data)), [shared, series, over.data]);
  const layout = useLayout(main.data ? series : expected);
  return {
    layout, plotWidth, mainUrls, main, over, series, overview,
    empty: series.length === 0 || isAllEmpty(series),
    bins: main.data?.[0]?.bins,
  };
}
