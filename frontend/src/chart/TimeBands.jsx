// Intervals drawn across the whole height of a time-series chart, under its hover layer, clipped to the plot:
// the alert bands and the anomaly marks (each only says which intervals, how they look and what they say).

/**
 * ctx: the plot's {x, innerWidth, innerHeight}; items: [{start, end}] (ms) with what keyOf, classOf, titleOf and
 * attrsOf read; minWidth: px a short interval is widened to.
 */
export function TimeBands({ ctx, items, label, className, keyOf, classOf, titleOf, attrsOf = () => ({}), minWidth = 1 }) {
  return (
    <g className={className} aria-label={label}>
      {items.map((it) => {
        const x0 = Math.max(0, ctx.x(it.start));
        const x1 = Math.min(ctx.innerWidth, ctx.x(it.end));
        return x1 >= x0 ? (
          <rect key={keyOf(it)} className={classOf(it)} x={x0} width={Math.max(minWidth, x1 - x0)} y={0}
            height={ctx.innerHeight} {...attrsOf(it)}>
            <title>{titleOf(it)}</title>
          </rect>
        ) : null;
      })}
    </g>
  );
}
