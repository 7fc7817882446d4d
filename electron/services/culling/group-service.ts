// Stacks as the library offers them: bursts and near-duplicates among the library's photos
// (groups.ts finds them), each group's best by a query, "keep the best" and "best of each group".
// The one rule for a group's best and for what "keep the best" rejects: the CLI, IPC, HTTP and the
// window all come here. The best is the highest score by `by`, except that a sharp, eyes-open frame
// is preferred over a blinked or soft one of the same stack (flaws.ts says what is flawed), and the
// group's `why` says so in words.
import path from 'node:path';
import type { GroupsOptions, PreviousCulling } from '../../../common/api-types.ts';
import { UserError } from '../../../common/errors.ts';
import type { PhotoRecord } from '../../../common/types.ts';
import { pickedAmong, setCulling } from '../../../db/culling.ts';
import { listPhotos } from '../../../db/photos.ts';
import { queryLabel, toQuery, type LibraryContext } from '../context.ts';
import type { DB } from '../../../db/database.ts';
import { flawWeight, frameFlaws, judgedFrames, type EyeCounts } from './flaws.ts';
import { groupingThresholds, groupPhotos, type LibraryPhotoGroup, type PhotoGroup } from './groups.ts';

/** What ranks a group's members when nothing else is asked for. */
export const DEFAULT_BEST_BY = '@quality + @sharpness';

/** Rejected photos stay out of grouping unless asked for (or the filter asks for rejects). */
function skipsRejected(opts: GroupsOptions): boolean {
  return !opts.includeRejected && (opts.filter?.flag === undefined || opts.filter.flag === 'any');
}

/**
 * Bursts and near-duplicates among the (filtered, not rejected) photos, in capture order; each
 * group lists its best photo first (by `by`), then the candidates to reject.
 */
export async function findGroups(ctx: LibraryContext, opts: GroupsOptions = {}): Promise<LibraryPhotoGroup[]> {
  ctx.sync();
  const m = ctx.matrix;
  const rows: number[] = [];
  const takenAt: number[] = [];
  const camera: (string | null)[] = [];
  const skipRejected = skipsRejected(opts);
  for (const p of listPhotos(ctx.db, opts.filter)) {
    if (skipRejected && p.flag === -1) continue;
    const r = m.indexOf(p.id);
    if (r < 0) continue;
    rows.push(r);
    takenAt.push(p.takenAt ?? NaN);
    camera.push(p.camera);
  }
  if (!rows.length) return [];
  const by = opts.by ?? DEFAULT_BEST_BY;
  const { combined: scores } = await ctx.scorer.scoreAll(toQuery(ctx, by));
  let found: PhotoGroup[];
  if (m.format === 'f32') {
    // The matrix itself (a view, no copy) with the photos as a subset of its rows.
    const t = new Float64Array(m.length).fill(NaN);
    const c: (string | null)[] = new Array(m.length).fill(null);
    rows.forEach((r, i) => ((t[r] = takenAt[i]), (c[r] = camera[i])));
    found = groupPhotos({ ids: m.ids, vectors: m.data, dim: m.dim, takenAt: t, camera: c, rows }, { strictness: opts.strictness, scores });
  } else {
    // int8 storage (very large libraries): the photos' exact rows, read back from the database.
    const input = { ids: Int32Array.from(rows, (r) => m.ids[r]), vectors: m.exactRows(rows), dim: m.dim, takenAt, camera };
    found = groupPhotos(input, { strictness: opts.strictness, scores: Float32Array.from(rows, (r) => scores[r]) });
  }
  const paths = m.pathsOf(found.flatMap((g) => g.ids.map((id) => m.indexOf(id))));
  let k = 0;
  const label = queryLabel(by);
  const { focus, eyes } = judgedFrames(ctx.db, found.flatMap((g) => g.ids));
  return found.map((g) => preferUnflawed({ ...g, scores: g.scores ?? [], paths: g.ids.map(() => paths[k++]), by: label, why: [] }, focus, eyes));
}

/**
 * A group's best among its frames with the fewest flaws (closed eyes, then softness against the
 * sharpest frame), by score among those; the others follow by score. `why` names each frame passed
 * over and what is wrong with it. A stack whose frames are all equally flawed keeps its score order.
 */
export function preferUnflawed(g: LibraryPhotoGroup, focus: Map<number, number | null>, eyes: EyeCounts): LibraryPhotoGroup {
  const flaws = frameFlaws(g.ids, focus, eyes);
  const weights = flaws.map(flawWeight);
  const least = Math.min(...weights);
  const best = weights.indexOf(least); // ids are in score order: the first with the fewest flaws
  if (best <= 0) return g;
  const order = [best, ...g.ids.map((_, i) => i).filter((i) => i !== best)];
  const why = order
    .slice(1)
    .filter((i) => i < best)
    .map((i) => `${path.basename(g.paths[i])} scores higher but is passed over: ${[flaws[i].closedEyes, flaws[i].soft].filter(Boolean).join('; ')}`);
  return {
    ...g,
    ids: order.map((i) => g.ids[i]),
    scores: order.map((i) => g.scores[i]),
    paths: order.map((i) => g.paths[i]),
    bestId: g.ids[best],
    why,
  };
}

/**
 * "Keep the best": flags every member of the groups except its best as rejected. Photos already
 * picked are left alone (an explicit decision wins). The rejects are marked automatic, so "my taste"
 * does not learn from them. Returns the previous states, for undo.
 */
export function rejectGroupCandidates(db: DB, groups: Array<{ ids: number[]; bestId: number }>): PreviousCulling[] {
  for (const g of groups) {
    if (!g.ids.includes(g.bestId)) throw new UserError(`Photo ${g.bestId} is not a member of its group (${g.ids.join(', ')}).`);
  }
  const others = [...new Set(groups.flatMap((g) => g.ids.filter((id) => id !== g.bestId)))];
  if (!others.length) return [];
  const picked = pickedAmong(db, others);
  const targets = others.filter((id) => !picked.has(id));
  return targets.length ? setCulling(db, targets, { flag: -1 }, { source: 'auto' }) : [];
}

/**
 * What "export the best of each group" exports, in capture order: every group's best, any member
 * you picked yourself, and, unless `includeUngrouped` is false, every photo in no group (rejected
 * photos excluded).
 */
export async function bestOfGroupIds(ctx: LibraryContext, opts: GroupsOptions & { includeUngrouped?: boolean } = {}): Promise<number[]> {
  const groups = await findGroups(ctx, opts);
  const grouped = new Set(groups.flatMap((g) => g.ids));
  const others = new Set(groups.flatMap((g) => g.ids.filter((id) => id !== g.bestId)));
  const skipRejected = skipsRejected(opts);
  const keep = (p: PhotoRecord) =>
    (opts.includeUngrouped !== false || grouped.has(p.id)) && !(others.has(p.id) && p.flag !== 1) && !(skipRejected && p.flag === -1);
  return listPhotos(ctx.db, opts.filter).filter(keep).map((p) => p.id);
}

/** What ranks a burst's frames when there is no model: the photographer's own decisions so far. */
export const BY_TIME = 'capture time (no model): a pick, then the most stars, then the first frame';

/**
 * Bursts by capture time alone, for a library opened without its model: consecutive frames of one
 * camera at most the strictness's burst gap apart (the same gap the embedding grouping uses).
 * Without embeddings nothing judges the frames, so each burst's best is the photographer's own
 * choice so far — a pick, then the most stars, then the first frame — and near-duplicates taken
 * at different times are not found.
 */
export function findBursts(db: DB, opts: GroupsOptions = {}): LibraryPhotoGroup[] {
  const gap = groupingThresholds(opts.strictness).burstGapMs;
  const skipRejected = skipsRejected(opts);
  const byCamera = new Map<string, PhotoRecord[]>();
  for (const p of listPhotos(db, opts.filter)) {
    if (p.takenAt === null || (skipRejected && p.flag === -1)) continue;
    const key = p.camera ?? '';
    byCamera.set(key, [...(byCamera.get(key) ?? []), p]);
  }
  const bursts: PhotoRecord[][] = [];
  for (const frames of byCamera.values()) {
    frames.sort((a, b) => a.takenAt! - b.takenAt! || a.id - b.id);
    let run: PhotoRecord[] = [];
    for (const p of frames) {
      if (run.length && p.takenAt! - run[run.length - 1].takenAt! > gap) {
        if (run.length > 1) bursts.push(run);
        run = [];
      }
      run.push(p);
    }
    if (run.length > 1) bursts.push(run);
  }
  bursts.sort((a, b) => a[0].takenAt! - b[0].takenAt! || a[0].id - b[0].id);
  const rank = (p: PhotoRecord) => (p.flag === 1 ? 10 : 0) + p.rating;
  return bursts.map((run) => {
    const best = run.reduce((b, p) => (rank(p) > rank(b) ? p : b));
    const ordered = [best, ...run.filter((p) => p !== best)];
    return { ids: ordered.map((p) => p.id), bestId: best.id, reason: 'burst' as const, scores: [], paths: ordered.map((p) => p.path), by: BY_TIME, why: [] };
  });
}
