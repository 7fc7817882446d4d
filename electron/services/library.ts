// The one facade every front end uses (cull CLI, Electron IPC, the local HTTP server): a library
// database, one CLIP model, and the in-memory embedding matrix that makes scoring a single pass.
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, type DB } from '../../db/database.ts';
import { addRoot, getPhoto, listPhotos, listRoots, removeRoot } from '../../db/photos.ts';
import { restoreCulling, setCulling } from '../../db/culling.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { ClipModel, ModelInfo } from '../../native-models/types.ts';
import type { PresetInfo, PreviousCulling } from '../../common/api-types.ts';
import { aestheticAvailable, aestheticScore, aestheticScores } from './signals/aesthetic.ts';
import { parseQuery } from './signals/attributes.ts';
import { EmbeddingMatrix } from './matrix/embedding-matrix.ts';
import { exportPhotos, type ExportResult } from './culling/export.ts';
import { indexLibrary } from './indexing/indexer.ts';
import { PRESETS, presetInfos, presetLookup } from './signals/presets.ts';
import { Scorer, type ScoreOptions } from './signals/scoring.ts';
import { tasteQueryName } from './signals/taste.ts';
import { thumbnailPath } from './indexing/thumbnails.ts';
import { fsPath, isRawFile } from './indexing/walk.ts';
import type {
  AttributeQuery,
  CullingChange,
  ExportOptions,
  IndexProgress,
  IndexSummary,
  LibraryStats,
  PhotoFilter,
  PhotoRecord,
  ScoredPhoto,
} from '../../common/types.ts';

export interface LibraryOptions {
  dbPath: string;
  /** A loaded model folder, or its path (`modelDir`). */
  model?: ModelInfo;
  modelDir?: string;
  quantized?: boolean;
  /** Thumbnail cache (default: "thumbs" beside the database). */
  thumbsDir?: string;
  threads?: number;
}

export interface ListOptions {
  filter?: PhotoFilter;
  /** A count, or a share of the matching photos such as "10%". */
  top?: number | string;
  /** false: results without paths (the window has its photo records; saves time and bytes at 100k). */
  paths?: boolean;
}

export interface ExportSelection {
  /** Rank by this attribute text; without it, photos keep capture order. */
  by?: string;
  top?: number | string;
  minScore?: number;
  filter?: PhotoFilter;
  to: string;
  mode: 'copy' | 'link';
  xmp?: boolean;
  report?: string;
  onProgress?: (done: number, total: number, current?: string) => void;
  signal?: AbortSignal;
}

/** The LAION aesthetic head as a pseudo-preset (ViT-B/32 only; about 1–10, not 0–1). */
export const AESTHETIC_ID = 'laion';

function topOptions(top: number | string | undefined): Pick<ScoreOptions, 'top' | 'topPercent'> {
  if (top === undefined) return {};
  if (typeof top === 'number') return { top };
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(top);
  if (!m) throw new Error(`"${top}" is not a count or a percentage (e.g. 20 or 10%).`);
  return m[2] ? { topPercent: Number(m[1]) } : { top: Number(m[1]) };
}

export class Library {
  private indexing: Promise<IndexSummary> | null = null;
  private dataVersion: number;

  private constructor(
    readonly db: DB,
    private readonly clip: ClipModel,
    readonly matrix: EmbeddingMatrix,
    private readonly scorer: Scorer,
    readonly thumbsDir: string,
  ) {
    this.dataVersion = this.readDataVersion();
  }

  static async open(opts: LibraryOptions): Promise<Library> {
    const info = opts.model ?? (opts.modelDir ? loadModelFolder(opts.modelDir, { quantized: opts.quantized }) : null);
    if (!info) throw new Error('No CLIP model given: pass a model folder.');
    const db = openDatabase(opts.dbPath);
    try {
      // The image session is only needed to index: opening a library to score skips its ~1.3 s load.
      const clip = await openClipModel(info, { threads: opts.threads, lazyVision: true });
      const matrix = EmbeddingMatrix.load(db, info.id, { deferSnapshot: true });
      const scorer = new Scorer({ db, model: clip, matrix, filterIds: (f) => listPhotos(db, f).map((p) => p.id) });
      const thumbs = opts.thumbsDir ?? path.join(path.dirname(path.resolve(opts.dbPath)), 'thumbs');
      return new Library(db, clip, matrix, scorer, thumbs);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get model(): ModelInfo {
    return this.clip.info;
  }

  // --- library -------------------------------------------------------------------------------

  async stats(): Promise<LibraryStats> {
    const c = this.db
      .prepare(
        `SELECT count(*) AS photos,
          sum(status = 'missing') AS missing, sum(status = 'failed') AS failed,
          sum(flag = 1) AS picks, sum(flag = -1) AS rejects, sum(rating > 0) AS rated
        FROM photos`,
      )
      .get() as Record<string, number | null>;
    const { embedded } = this.db
      .prepare("SELECT count(*) AS embedded FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND p.status = 'ok'")
      .get(this.model.id) as { embedded: number };
    const m = this.model;
    return {
      photos: c.photos ?? 0,
      embedded,
      missing: c.missing ?? 0,
      failed: c.failed ?? 0,
      picks: c.picks ?? 0,
      rejects: c.rejects ?? 0,
      rated: c.rated ?? 0,
      roots: listRoots(this.db),
      model: { id: m.id, name: m.name, randomWeights: m.randomWeights, architecture: m.architecture },
    };
  }

  async roots(): Promise<string[]> {
    return listRoots(this.db);
  }

  async addRoot(dir: string): Promise<string[]> {
    const abs = path.resolve(dir);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      throw new Error(`Folder not found: ${abs}. Check the path and try again.`);
    }
    if (!stat.isDirectory()) throw new Error(`${abs} is a file, not a folder: add the folder that holds your photos.`);
    return addRoot(this.db, abs);
  }

  async removeRoot(dir: string): Promise<string[]> {
    return removeRoot(this.db, dir);
  }

  /** Indexes the given folders (default: every root). One run at a time per library. */
  async index(
    roots: string[] | undefined,
    opts: { onProgress?: (p: IndexProgress) => void; signal?: AbortSignal } = {},
  ): Promise<IndexSummary> {
    if (this.indexing) throw new Error('Indexing is already running for this library; wait for it or cancel it.');
    const targets = roots?.length ? roots.map((r) => path.resolve(r)) : listRoots(this.db);
    if (!targets.length) throw new Error('The library has no folders yet: add a folder of photos first.');
    this.indexing = indexLibrary({ db: this.db, model: this.clip, roots: targets, thumbsDir: this.thumbsDir, ...opts });
    try {
      return await this.indexing;
    } finally {
      this.indexing = null;
      this.matrix.refresh(this.db);
      this.dataVersion = this.readDataVersion();
    }
  }

  // --- scoring -------------------------------------------------------------------------------

  async presets(): Promise<PresetInfo[]> {
    const list = presetInfos();
    if (aestheticAvailable(this.model)) {
      list.push({ id: AESTHETIC_ID, label: 'LAION aesthetic score', description: 'Linear aesthetic predictor (LAION, ViT-B/32 only), about 1–10.' });
    }
    return list;
  }

  async parseQuery(text: string): Promise<AttributeQuery> {
    return parseQuery(text, presetLookup);
  }

  private isAestheticQuery(query: string | AttributeQuery): boolean {
    return typeof query === 'string' && query.trim().toLowerCase() === '@' + AESTHETIC_ID;
  }

  /** Photos ranked by an attribute text, a parsed query, or "@laion"; best first. */
  async score(query: string | AttributeQuery, opts: ListOptions = {}): Promise<ScoredPhoto[]> {
    this.syncMatrix();
    const taste = tasteQueryName(query);
    if (taste !== null) return this.scoreTaste(taste, opts);
    const options: ScoreOptions = { filter: opts.filter, paths: opts.paths, ...topOptions(opts.top) };
    if (this.isAestheticQuery(query)) return this.aesthetic(options);
    const q = typeof query === 'string' ? await this.parseQuery(query) : query;
    return this.scorer.score(q, options);
  }

  async search(text: string, opts: ListOptions = {}): Promise<ScoredPhoto[]> {
    this.syncMatrix();
    return this.scorer.search(text, { filter: opts.filter, paths: opts.paths, ...topOptions(opts.top ?? 100) });
  }

  async explain(photoId: number, query: string | AttributeQuery): Promise<Record<string, number>> {
    this.syncMatrix();
    const q = typeof query === 'string' ? await this.parseQuery(query) : query;
    return this.scorer.explain(photoId, q);
  }

  /** Every preset's score for one photo (plus an optional query and the LAION score): why it ranks where it does. */
  async explainAll(photoId: number, by?: string): Promise<Record<string, number>> {
    this.syncMatrix();
    const attrs = PRESETS.map((p) => p.attribute);
    if (by) attrs.unshift(...(await this.parseQuery(by)).attributes);
    const out = await this.scorer.explain(photoId, attrs);
    if (aestheticAvailable(this.model)) {
      const r = this.matrix.indexOf(photoId);
      if (r >= 0) out['LAION aesthetic (1–10)'] = aestheticScore(this.matrix.row(r));
    }
    return out;
  }

  private aesthetic(opts: ScoreOptions): ScoredPhoto[] {
    if (!aestheticAvailable(this.model)) {
      throw new Error(`The LAION aesthetic score needs the ViT-B/32 model; ${this.model.name} is ${this.model.architecture ?? 'another architecture'}.`);
    }
    const scores = aestheticScores(this.matrix);
    const { ids, paths } = this.matrix;
    const allow = opts.filter ? new Set(listPhotos(this.db, opts.filter).map((p) => p.id)) : null;
    const rows: ScoredPhoto[] = [];
    for (let r = 0; r < ids.length; r++) if (!allow || allow.has(ids[r])) rows.push({ id: ids[r], path: paths[r], score: scores[r] });
    rows.sort((a, b) => b.score - a.score || a.id - b.id);
    const k = opts.topPercent !== undefined ? Math.ceil((opts.topPercent / 100) * rows.length) : (opts.top ?? rows.length);
    return rows.slice(0, k);
  }

  /** Another process (the CLI beside the app) may have indexed: pick its rows up before scoring. */
  private syncMatrix(): void {
    const v = this.readDataVersion();
    if (v !== this.dataVersion && !this.indexing) {
      this.matrix.refresh(this.db);
      this.dataVersion = v;
    }
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  // --- photos and culling --------------------------------------------------------------------

  async photos(filter?: PhotoFilter): Promise<PhotoRecord[]> {
    return listPhotos(this.db, filter);
  }

  async photo(id: number): Promise<PhotoRecord | null> {
    return getPhoto(this.db, id);
  }

  /** A photo by "#id", path (absolute or relative to the working folder) or unique file name. */
  async resolvePhoto(ref: string): Promise<PhotoRecord> {
    const byId = /^#?(\d+)$/.exec(ref.trim());
    if (byId && ref.trim().startsWith('#')) {
      const p = getPhoto(this.db, Number(byId[1]));
      if (p) return p;
      throw new Error(`No photo #${byId[1]} in this library.`);
    }
    const row = this.db.prepare('SELECT id FROM photos WHERE path = ?').get(path.resolve(ref)) as { id: number } | undefined;
    if (row) return getPhoto(this.db, row.id)!;
    const named = this.db
      .prepare("SELECT id, path FROM photos WHERE path = ? OR path LIKE ? ESCAPE '\\' LIMIT 10")
      .all(ref, '%' + path.sep + ref.replace(/[\\%_]/g, (c) => '\\' + c)) as { id: number; path: string }[];
    const exact = named.filter((n) => path.basename(n.path) === path.basename(ref) && n.path.endsWith(path.sep + ref));
    if (exact.length === 1) return getPhoto(this.db, exact[0].id)!;
    if (exact.length > 1) throw new Error(`"${ref}" matches several photos (${exact.map((e) => e.path).join(', ')}): give the full path.`);
    throw new Error(`"${ref}" is not in this library: index its folder first (cull index FOLDER).`);
  }

  async setCulling(ids: number[], change: CullingChange): Promise<PreviousCulling[]> {
    return setCulling(this.db, ids, change);
  }

  async restoreCulling(previous: PreviousCulling[]): Promise<void> {
    restoreCulling(this.db, previous);
  }

  // --- export --------------------------------------------------------------------------------

  async exportPhotos(
    opts: ExportOptions,
    onProgress?: (done: number, total: number, current?: string) => void,
    signal?: AbortSignal,
  ): Promise<ExportResult> {
    return exportPhotos(this.db, opts, onProgress && ((p) => onProgress(p.done, p.total, p.current)), signal);
  }

  /** Picks what to export (ranked by an attribute, filtered by flags/ratings) and exports it with every score. */
  async exportSelection(sel: ExportSelection): Promise<ExportResult> {
    let ids: number[];
    const scores: Record<number, Record<string, number>> = {};
    if (sel.by) {
      const ranked = await this.score(sel.by, { filter: sel.filter, top: sel.top });
      const kept = sel.minScore === undefined ? ranked : ranked.filter((r) => r.score >= sel.minScore!);
      ids = kept.map((r) => r.id);
      for (const r of kept) scores[r.id] = { score: r.score, ...(r.parts && Object.keys(r.parts).length > 1 ? r.parts : {}) };
    } else {
      const all = listPhotos(this.db, sel.filter);
      const { top, topPercent } = topOptions(sel.top);
      const k = topPercent !== undefined ? Math.ceil((topPercent / 100) * all.length) : (top ?? all.length);
      ids = all.slice(0, k).map((p) => p.id);
    }
    if (!ids.length) throw new Error('Nothing to export: no photo matches the selection.');
    return this.exportPhotos({ photoIds: ids, to: sel.to, mode: sel.mode, xmp: sel.xmp, report: sel.report, scores }, sel.onProgress, sel.signal);
  }

  // --- files the UI may show -----------------------------------------------------------------

  async thumbPath(id: number): Promise<string | null> {
    const p = getPhoto(this.db, id);
    return p?.thumb ? thumbnailPath(this.thumbsDir, p.thumb) : null;
  }

  /** The original, when a browser can show it; RAW files show their thumbnail instead. */
  async imagePath(id: number): Promise<string | null> {
    const p = getPhoto(this.db, id);
    if (!p || p.status !== 'ok' || isRawFile(p.path)) return null;
    const onDisk = fsPath(p.path);
    return typeof onDisk === 'string' ? onDisk : null; // a non-UTF-8 name: the thumbnail stands in
  }

  async isInsideLibrary(absPath: string): Promise<boolean> {
    const target = path.resolve(absPath);
    const inside = (dir: string) => {
      const rel = path.relative(path.resolve(dir), target);
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    };
    return inside(this.thumbsDir) || listRoots(this.db).some(inside);
  }

  async close(): Promise<void> {
    await this.matrix.flush(); // a snapshot still being written (large libraries)
    await this.clip.dispose();
    this.db.close();
  }

  // --- culling intelligence ------------------------------------------------------------------
  // Bursts and near-duplicates (groups.ts) and learned taste models (taste.ts, db/taste.ts).
  // Self-contained: its modules are loaded with import() so this file's import list stays as it
  // was (hoist them into static imports whenever convenient).

  /** Score per matrix row for `by`: an attribute text, "@laion" or "@taste[:name]"; default quality + sharpness. */
  private async rowScores(by?: string): Promise<{ scores: Float32Array; label: string }> {
    const text = by?.trim() || '@quality + @sharpness';
    const { tasteQueryName } = await import('./signals/taste.ts');
    const taste = tasteQueryName(text);
    if (taste !== null) return { scores: await this.tasteRowScores(taste), label: `@taste:${taste}` };
    if (this.isAestheticQuery(text)) {
      if (!aestheticAvailable(this.model)) throw new Error(`The LAION aesthetic score needs the ViT-B/32 model; ${this.model.name} is ${this.model.architecture ?? 'another architecture'}.`);
      return { scores: aestheticScores(this.matrix), label: text };
    }
    const { combined } = await this.scorer.scoreAll(await this.parseQuery(text));
    return { scores: combined, label: text };
  }

  /**
   * Bursts and near-duplicates among the (filtered, not rejected) photos, in capture order; each
   * group lists its best photo first (by `by`), then the candidates to reject.
   */
  async groups(opts: import('./culling/groups.ts').GroupQuery = {}): Promise<import('./culling/groups.ts').LibraryPhotoGroup[]> {
    const { groupPhotos } = await import('./culling/groups.ts');
    this.syncMatrix();
    const m = this.matrix;
    const rows: number[] = [];
    const takenAt: number[] = [];
    const camera: (string | null)[] = [];
    const skipRejected = !opts.includeRejected && (opts.filter?.flag === undefined || opts.filter.flag === 'any');
    for (const p of listPhotos(this.db, opts.filter)) {
      if (skipRejected && p.flag === -1) continue;
      const r = m.indexOf(p.id);
      if (r < 0) continue;
      rows.push(r);
      takenAt.push(p.takenAt ?? NaN);
      camera.push(p.camera);
    }
    if (!rows.length) return [];
    const { scores, label } = await this.rowScores(opts.by);
    let found: import('./culling/groups.ts').PhotoGroup[];
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
    const memberRows = found.flatMap((g) => g.ids.map((id) => m.indexOf(id)));
    const paths = m.pathsOf(memberRows);
    let k = 0;
    return found.map((g) => ({ ...g, scores: g.scores ?? [], paths: g.ids.map(() => paths[k++]), by: label }));
  }

  /**
   * "Keep the best": flags every member of the groups except its best as rejected. Photos already
   * picked are left alone (an explicit decision wins). Returns the previous states, for undo
   * (restoreCulling).
   */
  async rejectGroupCandidates(groups: Array<{ ids: number[]; bestId: number }>): Promise<PreviousCulling[]> {
    for (const g of groups) {
      if (!g.ids.includes(g.bestId)) throw new Error(`Photo ${g.bestId} is not a member of its group (${g.ids.join(', ')}).`);
    }
    const others = [...new Set(groups.flatMap((g) => g.ids.filter((id) => id !== g.bestId)))];
    if (!others.length) return [];
    const picked = new Set(
      this.db.prepare('SELECT id FROM photos WHERE flag = 1 AND id IN (SELECT value FROM json_each(?))').pluck().all(JSON.stringify(others)) as number[],
    );
    const targets = others.filter((id) => !picked.has(id));
    return targets.length ? setCulling(this.db, targets, { flag: -1 }) : [];
  }

  /**
   * What "export the best of each group" exports, in capture order: every group's best, any member
   * you picked yourself, and, unless `includeUngrouped` is false, every photo in no group (rejected
   * photos excluded). Feed it to exportPhotos({ photoIds }).
   */
  async bestOfGroupIds(opts: import('./culling/groups.ts').GroupQuery & { includeUngrouped?: boolean } = {}): Promise<number[]> {
    const groups = await this.groups(opts);
    const grouped = new Set(groups.flatMap((g) => g.ids));
    const others = new Set(groups.flatMap((g) => g.ids.filter((id) => id !== g.bestId)));
    const skipRejected = !opts.includeRejected && (opts.filter?.flag === undefined || opts.filter.flag === 'any');
    return listPhotos(this.db, opts.filter)
      .filter((p) => (opts.includeUngrouped !== false || grouped.has(p.id)) && !(others.has(p.id) && p.flag !== 1) && !(skipRejected && p.flag === -1))
      .map((p) => p.id);
  }

  private async tasteRowScores(name: string): Promise<Float32Array> {
    const { getTasteModel } = await import('../../db/taste.ts');
    const { DEFAULT_TASTE, tasteScores, TasteError } = await import('./signals/taste.ts');
    const model = getTasteModel(this.db, name, this.model.id);
    if (!model) {
      const hint = name === DEFAULT_TASTE ? '' : ` --name ${JSON.stringify(name)}`;
      throw new TasteError(`There is no taste model "${name}" for ${this.model.name} yet: pick and reject some photos, then fit it (cull taste fit${hint}).`);
    }
    return tasteScores(this.matrix, model);
  }

  /**
   * Fits (or refits) the taste model `name` on the library's decisions, stores it and returns its
   * summary. `filter` limits the decisions it learns from (one client's folder, say); a refit keeps
   * the model's earlier filter unless given a new one.
   */
  async fitTaste(name?: string, opts: { filter?: PhotoFilter; folds?: number } = {}): Promise<import('../../db/taste.ts').TasteModelInfo> {
    const { DEFAULT_TASTE, collectDecisions, fitTasteModel, TasteError } = await import('./signals/taste.ts');
    const { getTasteModel, saveTasteModel } = await import('../../db/taste.ts');
    const key = (name ?? DEFAULT_TASTE).trim();
    if (!key || key.length > 100) throw new TasteError('A taste model needs a name of 1 to 100 characters.');
    this.syncMatrix();
    const scope = opts.filter ?? getTasteModel(this.db, key, this.model.id)?.scope ?? null;
    const decisions = collectDecisions(listPhotos(this.db, scope ?? undefined), this.matrix);
    const x = decisions.rows.length ? this.matrix.exactRows(decisions.rows) : new Float32Array(0);
    const fit = await fitTasteModel(x, this.matrix.dim, decisions, { folds: opts.folds });
    const stored = { ...fit, name: key, modelId: this.model.id, scope, createdAt: Date.now() };
    saveTasteModel(this.db, stored);
    const { weights: _weights, ...info } = stored;
    return info;
  }

  /**
   * Refits `name` when the number of decisions in its scope has moved by `everyN` or more since it
   * was fitted (call it after culling changes); returns the new summary, or null when nothing was
   * done (no such model, or too few new decisions). Decisions that merely change (a pick turned
   * into a reject) do not count: fitTaste refits on demand.
   */
  async maybeRefitTaste(name?: string, everyN?: number): Promise<import('../../db/taste.ts').TasteModelInfo | null> {
    const { DEFAULT_TASTE, TASTE_REFIT_EVERY, collectDecisions } = await import('./signals/taste.ts');
    const { getTasteModel } = await import('../../db/taste.ts');
    const key = (name ?? DEFAULT_TASTE).trim();
    const existing = getTasteModel(this.db, key, this.model.id);
    if (!existing) return null;
    this.syncMatrix();
    const decisions = collectDecisions(listPhotos(this.db, existing.scope ?? undefined), this.matrix);
    if (Math.abs(decisions.rows.length - existing.examples) < Math.max(1, everyN ?? TASTE_REFIT_EVERY)) return null;
    return this.fitTaste(key);
  }

  /** Photos ranked by a taste model (see taste.ts for the 0–1 scale); best first. Route "@taste[:name]" queries here. */
  async scoreTaste(name?: string, opts: ListOptions = {}): Promise<ScoredPhoto[]> {
    const { DEFAULT_TASTE } = await import('./signals/taste.ts');
    this.syncMatrix();
    const scores = await this.tasteRowScores((name ?? DEFAULT_TASTE).trim());
    const { selectTop } = await import('./signals/scoring.ts');
    const ids = this.matrix.ids;
    const allow = opts.filter ? new Set(listPhotos(this.db, opts.filter).map((p) => p.id)) : null;
    const rows: number[] = [];
    for (let r = 0; r < ids.length; r++) if (!allow || allow.has(ids[r])) rows.push(r);
    const { top, topPercent } = topOptions(opts.top);
    const k = topPercent !== undefined ? Math.ceil((topPercent / 100) * rows.length) : (top ?? rows.length);
    const kept = selectTop(scores, ids, rows, k);
    const paths = opts.paths === false ? null : this.matrix.pathsOf(kept);
    return kept.map((r, i) => ({ id: ids[r], path: paths ? paths[i] : '', score: scores[r] }));
  }

  /** The taste models fitted for this library's CLIP model. */
  async tasteModels(): Promise<import('../../db/taste.ts').TasteModelInfo[]> {
    const { listTasteModels } = await import('../../db/taste.ts');
    return listTasteModels(this.db, this.model.id);
  }

  /** Each taste model's score (0…1, as @taste ranks) for one photo; empty without taste models. */
  async tasteScoresOf(photoId: number): Promise<Record<string, number>> {
    const { listTasteModels, getTasteModel } = await import('../../db/taste.ts');
    const { TASTE_SLOPE } = await import('./signals/taste.ts');
    this.syncMatrix();
    const r = this.matrix.indexOf(photoId);
    const out: Record<string, number> = {};
    if (r < 0) return out;
    for (const info of listTasteModels(this.db, this.model.id)) {
      const m = getTasteModel(this.db, info.name, this.model.id);
      if (!m || m.dim !== this.matrix.dim) continue;
      const dot = this.matrix.dotRow(r, m.weights);
      out[m.name] = 1 / (1 + Math.exp(-TASTE_SLOPE * (dot + m.bias - 0.5)));
    }
    return out;
  }

  async deleteTaste(name: string): Promise<boolean> {
    const { deleteTasteModel } = await import('../../db/taste.ts');
    return deleteTasteModel(this.db, name.trim(), this.model.id);
  }
}
