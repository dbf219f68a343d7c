// Touch gestures on a time plot as pure maths: two fingers that move apart (or together, or sideways) keep the
// times under them, and the view becomes what then spans the plot (as a map app's pinch does).

const MIN_SPREAD = 12; // px between the fingers below which a pinch means nothing

/**
 * The time range [t0, t1] shown after a pinch: `x` the plot's time scale, `before` and `after` the two fingers'
 * x positions (px in the plot) at the start and the end of the gesture, `innerWidth` the plot's width. Null when
 * the fingers are too close to tell.
 */
export function pinchDomain(x, before, after, innerWidth) {
  const [a0, b0] = [...before].sort((p, q) => p - q);
  const [a1, b1] = [...after].sort((p, q) => p - q);
  if (b0 - a0 < MIN_SPREAD || b1 - a1 < MIN_SPREAD) return null;
  const ta = +x.invert(a0);
  const perPx = (+x.invert(b0) - ta) / (b1 - a1);
  return [ta - a1 * perPx, ta + (innerWidth - a1) * perPx];
}
