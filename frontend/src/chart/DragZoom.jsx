// Drag across a plot to zoom into that stretch of time, double-click to zoom out: one transparent rect that
// catches the pointer, shared by the time chart and the heatmap. onPointer({t, px, py}) reports hovering.
// Touch: a tap or a one-finger slide reads the values there (the page still scrolls up and down), two fingers
// pinch or slide to zoom (chart/gestures.js).
import { useRef, useState } from 'react';
import { pinchDomain } from './gestures.js';

export function DragZoom({ x, innerWidth, innerHeight, onZoom, onZoomOut, onPointer }) {
  const [drag, setDrag] = useState(null);
  const fingers = useRef({ start: new Map(), now: new Map() });
  const local = (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    return [Math.min(innerWidth, Math.max(0, e.clientX - r.left)), e.clientY - r.top];
  };
  const point = (e) => {
    const [px, py] = local(e);
    onPointer?.({ t: +x.invert(px), px, py });
  };
  const touchMove = (e) => {
    const f = fingers.current;
    f.now.set(e.pointerId, local(e)[0]);
    if (f.start.size === 1) point(e);
  };
  const touchEnd = (e) => {
    const f = fingers.current;
    if (f.start.size === 2 && f.now.size === 2) {
      const domain = pinchDomain(x, [...f.start.values()], [...f.now.values()], innerWidth);
      if (domain) onZoom(domain);
      f.start.clear(); // the other finger lifting later ends nothing more
      f.now.clear();
    }
    f.start.delete(e.pointerId);
    f.now.delete(e.pointerId);
  };
  const move = (e) => {
    if (e.pointerType === 'touch') return touchMove(e);
    const [px] = local(e);
    if (drag) setDrag({ ...drag, x1: px });
    return point(e);
  };
  const down = (e) => {
    e.currentTarget.setPointerCapture?.(e.pointerId);
    if (e.pointerType === 'touch') {
      const px = local(e)[0];
      fingers.current.start.set(e.pointerId, px);
      fingers.current.now.set(e.pointerId, px);
      if (fingers.current.start.size === 1) point(e);
      return;
    }
    if (e.button !== 0) return;
    const [px] = local(e);
    setDrag({ x0: px, x1: px });
  };
  const up = (e) => {
    if (e.pointerType === 'touch') return touchEnd(e);
    if (drag && Math.abs(drag.x1 - drag.x0) > 4) {
      const [a, b] = [drag.x0, drag.x1].sort((p, q) => p - q);
      onZoom([+x.invert(a), +x.invert(b)]);
    }
    return setDrag(null);
  };
  return (
    <>
      {drag && (
        <rect className="zoom-selection" x={Math.min(drag.x0, drag.x1)} width={Math.abs(drag.x1 - drag.x0)} height={innerHeight} />
      )}
      {/* A finger lifted leaves the tooltip showing what it read (a tap's pointerleave follows at once). */}
      <rect className="overlay" width={innerWidth} height={innerHeight} onPointerMove={move}
        onPointerLeave={(e) => e.pointerType !== 'touch' && onPointer?.(null)} onPointerDown={down} onPointerUp={up}
        onPointerCancel={up} onDoubleClick={onZoomOut} />
    </>
  );
}
