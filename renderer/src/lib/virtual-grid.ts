// Window math for the virtualised thumbnail grid: only the rows in view (plus an overscan)
// are ever turned into DOM nodes, so the grid costs the same for 100 photos and 100 000.

export interface GridMetrics {
  columns: number;
  /** Width of one tile in px (the chosen size, stretched a little so rows fill the width). */
  tileWidth: number;
  /** Height of the image area (photos are letterboxed into it). */
  frameHeight: number;
  /** Height of one tile: the image area plus the caption strip. */
  tileHeight: number;
  gap: number;
  padding: number;
  rowHeight: number; // tileHeight + gap
  rows: number;
  totalHeight: number; // scrollable height of the whole grid
  count: number;
}

export interface GridLayoutInput {
  containerWidth: number;
  count: number;
  tileSize: number; // the zoom slider value: wanted tile width in px
  gap?: number;
  padding?: number;
  captionHeight?: number;
  /** Image area height / width: 0.8 fits 3:2 and 4:3 landscapes with a small margin. */
  frameAspect?: number;
}

export function gridMetrics(input: GridLayoutInput): GridMetrics {
  const gap = input.gap ?? 8;
  const padding = input.padding ?? 12;
  const caption = input.captionHeight ?? 26;
  const inner = Math.max(0, input.containerWidth - 2 * padding);
  const wanted = Math.max(32, input.tileSize);
  const columns = Math.max(1, Math.floor((inner + gap) / (wanted + gap)));
  // Stretch tiles to fill the row instead of leaving a ragged right margin; never below 32 px.
  const tileWidth = Math.max(32, Math.floor((inner - gap * (columns - 1)) / columns));
  const frameHeight = Math.round(tileWidth * (input.frameAspect ?? 0.8));
  const tileHeight = frameHeight + caption;
  const rowHeight = tileHeight + gap;
  const count = Math.max(0, Math.floor(input.count));
  const rows = Math.ceil(count / columns);
  const totalHeight = rows === 0 ? 0 : 2 * padding + rows * rowHeight - gap;
  return { columns, tileWidth, frameHeight, tileHeight, gap, padding, rowHeight, rows, totalHeight, count };
}

export interface VisibleRange {
  firstRow: number;
  lastRow: number; // inclusive; -1 when empty
  start: number; // first item index
  end: number; // one past the last item index
}

/** Rows intersecting [scrollTop, scrollTop + viewportHeight], widened by `overscan` rows each side. */
export function visibleRange(m: GridMetrics, scrollTop: number, viewportHeight: number, overscan = 2): VisibleRange {
  if (m.rows === 0) return { firstRow: 0, lastRow: -1, start: 0, end: 0 };
  const top = Math.max(0, scrollTop - m.padding);
  const bottom = Math.max(0, scrollTop + Math.max(0, viewportHeight) - m.padding);
  const firstVisible = Math.min(m.rows - 1, Math.floor(top / m.rowHeight));
  const lastVisible = Math.min(m.rows - 1, Math.floor(bottom / m.rowHeight));
  const firstRow = Math.max(0, firstVisible - overscan);
  const lastRow = Math.min(m.rows - 1, lastVisible + overscan);
  return {
    firstRow,
    lastRow,
    start: firstRow * m.columns,
    end: Math.min(m.count, (lastRow + 1) * m.columns),
  };
}

export function tilePosition(m: GridMetrics, index: number): { x: number; y: number } {
  const row = Math.floor(index / m.columns);
  const col = index % m.columns;
  return { x: m.padding + col * (m.tileWidth + m.gap), y: m.padding + row * m.rowHeight };
}

/** The scrollTop that brings item `index` fully into view, moving as little as possible. */
export function scrollToReveal(m: GridMetrics, index: number, scrollTop: number, viewportHeight: number): number {
  if (index < 0 || index >= m.count) return scrollTop;
  const { y } = tilePosition(m, index);
  const top = y - m.padding;
  const bottom = y + m.tileHeight + m.padding;
  if (top < scrollTop) return Math.max(0, top);
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

export type MoveDirection = 'left' | 'right' | 'up' | 'down' | 'next' | 'prev' | 'pageUp' | 'pageDown' | 'home' | 'end';

/** Next focused index after a navigation key; clamps at both ends (no wrap-around). */
export function moveIndex(index: number, dir: MoveDirection, columns: number, count: number, pageRows = 1): number {
  if (count <= 0) return -1;
  const cur = index < 0 ? 0 : Math.min(index, count - 1);
  const cols = Math.max(1, columns);
  let next = cur;
  switch (dir) {
    case 'left':
    case 'prev':
      next = cur - 1;
      break;
    case 'right':
    case 'next':
      next = cur + 1;
      break;
    case 'up':
      next = cur - cols < 0 ? cur : cur - cols;
      break;
    case 'down':
      // From the last full row, moving down lands on the last photo (like a file manager).
      next = cur + cols < count ? cur + cols : Math.floor(cur / cols) < Math.floor((count - 1) / cols) ? count - 1 : cur;
      break;
    case 'pageUp':
      next = cur - cols * Math.max(1, pageRows);
      break;
    case 'pageDown':
      next = cur + cols * Math.max(1, pageRows);
      break;
    case 'home':
      next = 0;
      break;
    case 'end':
      next = count - 1;
      break;
  }
  return Math.max(0, Math.min(count - 1, next));
}
