// Drag across a plot to zoom into that stretch of time, double-click to zoom out: one transparent rect that
// catches the pointer, shared by the time chart and the heatmap. onPointer({t, px, py}) reports hovering.
import { useState } from 'react';

export function DragZoom({ x, innerWidth, innerHeight, onZoom, onZoomOut, onPointer }) {
  const [drag, setDrag] = useState(null);
  const local = (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    return [Math.min(innerWidth, Math.max(0, e.clientX - r.left)), e.clientY - r.top];
  };
  const move = (e) => {
    const [px, py] = local(e);
    if (drag) setDrag({ ...drag, x1: px });
    onPointer?.({ t: +x.invert(px), px, py });
  };
  const down = (e) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    const [px] = local(e);
    setDrag({ x0: px, x1: px });
  };
  const up = () => {
    if (drag && Math.abs(drag.x1 - drag.x0) > 4) {
      const [a, b] = [drag.x0, drag.x1].sort((p, q) => p - q);
      onZoom([+x.invert(a), +x.invert(b)]);
    }
    setDrag(null);
  };
  return (
    <>
      {drag && (
        <rect className="zoom-selection" x={Math.min(drag.x0, drag.x1)} width={Math.abs(drag.x1 - drag.x0)} height={innerHeight} />
      )}
      <rect className="overlay" width={innerWidth} height={innerHeight} onPointerMove={move}
        onPointerLeave={() => onPointer?.(null)} onPointerDown={down} onPointerUp={up} onDoubleClick={onZoomOut} />
    </>
  );
}
