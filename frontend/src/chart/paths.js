// SVG path data of a time series' line and min–max band, written out directly: d3-shape's generators (with
// digits(1)) were half of the script time of drawing a 30-day chart of six series once its data was back
// (issue 26); this writes the same text in about half their time. Coordinates to a tenth of a pixel, finer than
// any screen draws.

const tenth = (v) => Math.round(v * 10) / 10;

/** "Mx,yLx,y…" through a run of [t, v] points, on the scales x(t) and y(v). */
export function linePath(run, x, y) {
  let d = '';
  for (let i = 0; i < run.length; i++) d += `${i ? 'L' : 'M'}${tenth(x(run[i][0]))},${tenth(y(run[i][1]))}`;
  return d;
}

/** The closed area of a run of [t, low, high] points: along the highs, back along the lows. */
export function bandPath(run, x, y) {
  let d = '';
  for (let i = 0; i < run.length; i++) d += `${i ? 'L' : 'M'}${tenth(x(run[i][0]))},${tenth(y(run[i][2]))}`;
  for (let i = run.length - 1; i >= 0; i--) d += `L${tenth(x(run[i][0]))},${tenth(y(run[i][1]))}`;
  return `${d}Z`;
}
