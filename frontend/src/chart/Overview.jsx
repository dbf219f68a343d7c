// The overview: the whole period in small, with a d3-brush whose selection is the main chart's range.
import { brushX } from 'd3-brush';
import { select } from 'd3-selection';
import { useEffect, useRef } from 'react';
import { TimePlot } from './TimePlot.jsx';

/** d3-brush bound to React: user gestures call back, prop changes move the brush silently. */
function Brush({ x, innerWidth, innerHeight, selection, onBrushing, onBrushEnd }) {
  const ref = useRef(null);
  const brushRef = useRef(null);
  const cb = useRef({ onBrushing, onBrushEnd, x });
  cb.current = { onBrushing, onBrushEnd, x };

  useEffect(() => {
    const g = select(ref.current);
    const toTimes = (sel) => sel.map((px) => +cb.current.x.invert(px));
    const brush = brushX()
      .extent([[0, 0], [innerWidth, innerHeight]])
      .on('brush', (e) => e.sourceEvent && e.selection && cb.current.onBrushing(toTimes(e.selection)))
      .on('end', (e) => e.sourceEvent && cb.current.onBrushEnd(e.selection ? toTimes(e.selection) : null));
    brushRef.current = brush;
    g.call(brush);
    return () => {
      brush.on('brush', null).on('end', null);
      g.on('.brush', null);
    };
  }, [innerWidth, innerHeight]);

  const [s0, s1] = selection || [];
  useEffect(() => {
    const g = select(ref.current);
    const px = s0 != null ? [Math.max(0, x(s0)), Math.min(innerWidth, x(s1))] : null;
    g.call(brushRef.current.move, px && px[1] - px[0] >= 1 ? px : null);
  }, [s0, s1, x, innerWidth, innerHeight]);

  return <g ref={ref} className="brush" />;
}

export function Overview({ series, layout, domain, width, height = 64, selection, onBrushing, onBrushEnd }) {
  return (
    <div className="overview" data-testid="overview">
      <TimePlot series={series} layout={layout} domain={domain} width={width} height={height} compact>
        {(ctx) => <Brush {...ctx} selection={selection} onBrushing={onBrushing} onBrushEnd={onBrushEnd} />}
      </TimePlot>
    </div>
  );
}
