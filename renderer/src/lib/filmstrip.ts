// Which photos the loupe's filmstrip shows: as many whole frames as its width holds, the focused
// one in the middle where the list allows (at its start or end the window slides, never past it).
// The strip used to lay out 25 frames and centre them in whatever width it had: in full screen,
// beside the photo tools, both ends were cut off mid-frame, and at the start of the list the
// focused frame itself could fall off the left edge.

/** A frame's size and the spacing the strip lays them out with (Filmstrip.svelte draws with these). */
export const FILMSTRIP = { frameW: 81, frameH: 54, gap: 4, pad: 8 } as const;

/** How many whole frames fit in a strip `width` CSS pixels wide (padding included); at least 1. */
export function framesThatFit(width: number): number {
  const { frameW, gap, pad } = FILMSTRIP;
  return Math.max(1, Math.floor((width - 2 * pad + gap) / (frameW + gap)));
}

/** The slice [lo, hi) of a list of `count` photos to show, `fits` frames around index `focus`. */
export function stripWindow(count: number, focus: number, fits: number): { lo: number; hi: number } {
  if (count <= 0 || focus < 0 || fits <= 0) return { lo: 0, hi: 0 };
  const n = Math.min(fits, count);
  const lo = Math.min(Math.max(0, focus - Math.floor((n - 1) / 2)), count - n);
  return { lo, hi: lo + n };
}
