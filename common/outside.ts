// One wording for decisions read from other applications' XMP, used by `cull explain`, the loupe's
// info panel and the grid tile's tooltip.
import type { OutsideDecision } from './types.ts';

/** "sidecar IMG_0001.xmp, 2024-05-04: ★★, label Blue — taken" (null when there is none). */
export function describeOutside(o: OutsideDecision | null | undefined): string | null {
  if (!o) return null;
  const name = o.path.split(/[\\/]/).pop() ?? o.path;
  const where = o.source === 'sidecar' ? `sidecar ${name}` : 'XMP in the photo';
  const when = o.modifiedAt ? `, ${new Date(o.modifiedAt).toISOString().slice(0, 10)}` : '';
  const parts = [
    o.rating === null ? null : o.rating === -1 ? 'rejected' : o.rating === 0 ? 'no stars' : '★'.repeat(o.rating),
    o.label ? `label ${o.label}` : null,
    o.pick === 1 ? 'pick' : o.pick === -1 ? 'reject' : null,
  ].filter(Boolean);
  const taken = o.taken.rating || o.taken.label || o.taken.pick;
  return `${where}${when}: ${parts.join(', ') || 'nothing Cull reads'} — ${taken ? 'taken' : 'not taken (a decision made in Cull wins)'}`;
}
