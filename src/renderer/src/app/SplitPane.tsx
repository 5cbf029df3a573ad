/**
 * Two panes side by side with a draggable divider; the right pane's width is remembered per machine. `leftCollapsed`
 * removes the left pane (the map) and gives the right one the whole width.
 */
import { useCallback, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent, type ReactNode } from 'react';

const STORAGE_KEY = 'fleetdesk.gridWidthPx';
const MIN_RIGHT = 360;
const MIN_LEFT = 320;

function initialWidth(): number {
  const saved = Number(localStorage.getItem(STORAGE_KEY));
  if (Number.isFinite(saved) && saved >= MIN_RIGHT) return saved;
  return Math.round(Math.min(860, Math.max(MIN_RIGHT, window.innerWidth * 0.48)));
}

export function SplitPane({ left, right, leftCollapsed = false }: { left: ReactNode; right: ReactNode; leftCollapsed?: boolean }) {
  const rootRef = useRef<HTMLDivElement>(null);
  const [rightWidth, setRightWidth] = useState(initialWidth);

  const clamp = useCallback((w: number) => {
    const total = rootRef.current?.clientWidth ?? window.innerWidth;
    return Math.round(Math.max(MIN_RIGHT, Math.min(total - MIN_LEFT, w)));
  }, []);

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    e.preventDefault();
    const handle = e.currentTarget;
    handle.setPointerCapture(e.pointerId);
    const right = rootRef.current?.getBoundingClientRect().right ?? window.innerWidth;
    const onMove = (ev: PointerEvent) => setRightWidth(clamp(right - ev.clientX));
    const onUp = (ev: PointerEvent) => {
      handle.releasePointerCapture(ev.pointerId);
      handle.removeEventListener('pointermove', onMove);
      handle.removeEventListener('pointerup', onUp);
      setRightWidth((w) => {
        localStorage.setItem(STORAGE_KEY, String(w));
        return w;
      });
    };
    handle.addEventListener('pointermove', onMove);
    handle.addEventListener('pointerup', onUp);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = e.shiftKey ? 80 : 20;
    if (e.key === 'ArrowLeft') setRightWidth((w) => clamp(w + step));
    else if (e.key === 'ArrowRight') setRightWidth((w) => clamp(w - step));
  };

  return (
    <div
      className="split"
      ref={rootRef}
      style={{ gridTemplateColumns: leftCollapsed ? '0 0 1fr' : `minmax(${MIN_LEFT}px, 1fr) 6px ${rightWidth}px` }}
    >
      {/* collapsed: not rendered at all (a map at zero size cannot draw); it is built again when shown */}
      <div className="split-pane" hidden={leftCollapsed}>
        {leftCollapsed ? null : left}
      </div>
      <div
        hidden={leftCollapsed}
        className="split-handle"
        role="separator"
        aria-orientation="vertical"
        aria-label="Resize map and vehicle list"
        tabIndex={0}
        onPointerDown={onPointerDown}
        onKeyDown={onKeyDown}
      />
      <div className="split-pane">{right}</div>
    </div>
  );
}
