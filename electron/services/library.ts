// The one facade every front end uses (cull CLI, Electron IPC, the local HTTP server): opens a
// library (database, CLIP model, in-memory embedding matrix) and hands each request to the service
// that owns it — indexing, signals and scoring, stacks, taste, culling, export, the files the UI
// may show (photo-files.ts); its option shapes are in library-options.ts. It orchestrates
// only: no SQL, no scoring rules. Opened with `catalog: true` it loads no model at all: culling,
// stats, photo lists and export by rating/flag work; what needs the model throws 'no-model'.
import path from 'node:path';
import type { GroupsOptions, PresetInfo, PreviousCulling } from '../../common/api-types.ts';
import { NotFoundError, UserError } from '../../common/errors.ts';
import { parseTop, topCount } from '../../common/top.ts';
import type {
  AttributeQuery,
  CullingChange,
  ExportOptions,
  FocusMapInfo,
  IndexProgress,
  IndexSummary,
  LibraryStats,
  PhotoFaces,
  PhotoFilter,
  PhotoProblems,
  PhotoRecord,
  PreviewInfo,
  QueryTerm,
  ScoredPhoto,
  TasteModelInfo,
} from '../../common/types.ts';
import { restoreCulling, setCulling } from '../../db/culling.ts';
import { facesOf } from '../../db/faces.ts';
import { openDatabase, type DB } from '../../db/database.ts';
import { rememberModel, rememberedModel, type ModelSource, type RememberedModel } from '../../db/library-model.ts';
import { libraryCounts, photoIdAtPath, photosEndingWith } from '../../db/library-queries.ts';
import { addRoot, getPhoto, listPhotos, listRoots, removeRoot } from '../../db/photos.ts';
import { deleteTasteModel, listTasteModels } from '../../db/taste.ts';
import { focusMapOf } from '../../db/technical.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { ClipModel, ModelInfo } from '../../native-models/types.ts';
import { toQuery, type LibraryContext } from './context.ts';
import { exportPhotos, type ExportResult } from './culling/export.ts';
import { checkLibraryFolder } from './folders.ts';
import { photoProblems } from './culling/flaws.ts';
import { bestOfGroupIds, findBursts, findGroups, rejectGroupCandidates } from './culling/group-service.ts';
import type { LibraryPhotoGroup } from './culling/groups.ts';
import { indexLibrary } from './indexing/indexer.ts';
import { EmbeddingMatrix } from './matrix/embedding-matrix.ts';
import { MatrixSync } from './matrix/matrix-sync.ts';
import { imagePathOf, isInsideLibrary, previewInfoOf, standardPreviewPathOf, thumbPathOf } from './photo-files.ts';
import { PRESETS } from './signals/presets.ts';
import { listSignals } from './signals/registry.ts';
import { Scorer } from './signals/scoring.ts';
import { DEFAULT_TASTE, fitTaste, maybeRefitTaste, tasteScoresOf } from './signals/taste.ts';

import type { ExportSelection, LibraryOptions, ListOptions, ModelChange } from './library-options.ts';

export type { ExportSelection, LibraryOptions, ListOptions, ModelChange } from './library-options.ts';
export { realFile } from './photo-files.ts';

type Loaded = { clip: ClipModel; matrix: EmbeddingMatrix; ctx: LibraryContext; source: ModelSource };

export class Library {
  private indexing: Promise<IndexSummary> | null = null;
  /** When the matrix re-reads the database (null in catalog mode). */
  private readonly matrixSync: MatrixSync | null;
  /** The model and what hangs off it; null in catalog mode. */
  private readonly loaded: Loaded | null;
  /** Set when opened with another model than the remembered one (say so: index embeds again). */
  readonly modelChange: ModelChange | null = null;

  private constructor(
    readonly db: DB,
    model: { clip: ClipModel; matrix: EmbeddingMatrix; source: ModelSource } | null,
    readonly thumbsDir: string,
  ) {
    this.matrixSync = model && new MatrixSync(db, model.matrix);
    if (model) {
      const { clip, matrix } = model;
      const scorer = new Scorer({ db, model: clip, matrix, filterIds: (f) => listPhotos(db, f).map((p) => p.id) });
      this.loaded = { ...model, ctx: { db, model: clip, matrix, thumbsDir, scorer, sync: () => this.syncMatrix() } };
      const from = rememberedModel(db);
      if (!from && matrix.length) this.remember(); // indexed before libraries remembered their model
      if (from && from.id !== clip.info.id) {
        const c = libraryCounts(db, clip.info.id);
        this.modelChange = { from, to: clip.info, toEmbed: Math.max(0, c.photos - c.missing - c.failed - c.embedded) };
      }
    } else {
      this.loaded = null;
    }
  }

  static async open(opts: LibraryOptions): Promise<Library> {
    const thumbs = opts.thumbsDir ?? path.join(path.dirname(path.resolve(opts.dbPath)), 'thumbs');
    if (opts.catalog) return new Library(openDatabase(opts.dbPath), null, thumbs);
    const info = opts.model ?? (opts.modelDir ? loadModelFolder(opts.modelDir, { quantized: opts.quantized }) : null);
    if (!info) throw new UserError('No CLIP model given: pass a model folder.', 'no-model');
    const db = openDatabase(opts.dbPath);
    try {
      // The image session is only needed to index: opening a library to score skips its ~1.3 s load.
      const clip = await openClipModel(info, { threads: opts.threads, lazyVision: true });
      const matrix = await EmbeddingMatrix.loadAsync(db, info.id, { deferSnapshot: true });
      return new Library(db, { clip, matrix, source: opts.modelSource ?? { kind: 'folder', path: info.dir } }, thumbs);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The parts only a library with a model has; a clear 'no-model' error in catalog mode. */
  private need(what = 'Ranking, search, explain, groups and taste'): Loaded {
    if (this.loaded) return this.loaded;
    throw new UserError(
      `${what}: this needs the library's CLIP model, and the library was opened without one (catalog mode: rating, stats and export by rating or flag only). Open it with its model.`,
      'no-model',
    );
  }

  private get ctx(): LibraryContext {
    return this.need().ctx;
  }

  get model(): ModelInfo {
    return this.need('Asking for the model').clip.info;
  }

  get matrix(): EmbeddingMatrix {
    return this.need('Reading the embeddings').matrix;
  }

  /** The model the library was indexed with (null before the first index). */
  rememberedModel(): RememberedModel | null {
    return rememberedModel(this.db);
  }

  private remember(): void {
    const { clip, source } = this.need();
    const m = clip.info;
    rememberModel(this.db, { id: m.id, name: m.name, source, quantized: m.quantized, randomWeights: m.randomWeights, architecture: m.architecture });
  }

  /** The loaded model's id, or in catalog mode the remembered one's (null before the first index). */
  private modelId(): string | null {
    return this.loaded?.clip.info.id ?? rememberedModel(this.db)?.id ?? null;
  }

  // --- library -------------------------------------------------------------------------------

  /** In catalog mode the model is the remembered one (id '' and name 'none' before the first index). */
  async stats(): Promise<LibraryStats> {
    const m = this.loaded?.clip.info ?? rememberedModel(this.db);
    return {
      ...libraryCounts(this.db, m?.id ?? ''),
      roots: listRoots(this.db),
      model: m ? { id: m.id, name: m.name, randomWeights: m.randomWeights, architecture: m.architecture } : { id: '', name: 'none', randomWeights: false, architecture: null },
    };
  }

  async roots(): Promise<string[]> {
    return listRoots(this.db);
  }

  async addRoot(dir: string): Promise<string[]> {
    return addRoot(this.db, checkLibraryFolder(dir));
  }

  async removeRoot(dir: string): Promise<string[]> {
    return removeRoot(this.db, dir);
  }

  /** Indexes the given folders (default: every root). One run at a time per library. */
  async index(
    roots: string[] | undefined,
    opts: { onProgress?: (p: IndexProgress) => void; signal?: AbortSignal } = {},
  ): Promise<IndexSummary> {
    const { clip } = this.need('Indexing');
    if (this.indexing) throw new UserError('Indexing is already running for this library; wait for it or cancel it.', 'busy');
    const targets = roots?.length ? roots.map((r) => path.resolve(r)) : listRoots(this.db);
    if (!targets.length) throw new UserError('The library has no folders yet: add a folder of photos first.');
    this.remember(); // from now on later commands and the window load this model without being told
    // Embeddings this run stores reach the matrix at the next scoring call: scores arrive mid-run.
    let embedded = 0;
    const onProgress = (p: IndexProgress) => {
      if (p.indexed !== embedded) this.matrixSync?.behind();
      embedded = p.indexed;
      opts.onProgress?.(p);
    };
    this.indexing = indexLibrary({ db: this.db, model: clip, roots: targets, thumbsDir: this.thumbsDir, signal: opts.signal, onProgress });
    try {
      return await this.indexing;
    } finally {
      this.indexing = null;
      this.matrixSync!.refresh();
    }
  }

  /** Before scoring: what another process or this library's running index stored goes into the matrix. */
  private syncMatrix(): void {
    this.matrixSync?.sync(this.indexing !== null);
  }

  // --- signals and scoring -------------------------------------------------------------------

  /** The named signals this library offers ("@quality", "@laion", …); taste models are listed by tasteModels. */
  async presets(): Promise<PresetInfo[]> {
    return listSignals(this.ctx).filter((s) => !s.id.startsWith('taste'));
  }

  /** What was typed, as terms: typed pairs with their prompts, "@names" as signal terms. */
  async parseQuery(text: string): Promise<AttributeQuery> {
    return toQuery(this.ctx, text);
  }

  /** Photos ranked by a query (typed or parsed; any mix of pairs, presets, @laion, @taste…); best first. */
  async score(query: string | AttributeQuery, opts: ListOptions & { minScore?: number } = {}): Promise<ScoredPhoto[]> {
    this.syncMatrix();
    return this.ctx.scorer.score(toQuery(this.ctx, query), { filter: opts.filter, paths: opts.paths, minScore: opts.minScore, ...parseTop(opts.top) });
  }

  /**
   * Opens the text encoder's session ahead of the first search: the window asks once the library
   * is open and it is idle, so the first search does not wait ~1 s for it (its load holds this
   * thread meanwhile, hence not at open, when the first photos are being served).
   */
  async prepareSearch(): Promise<{ textSessionOpen: boolean }> {
    const clip = this.need('Search').clip;
    await clip.prepareText?.();
    return { textSessionOpen: this.textSessionOpen };
  }

  /** Whether a search can encode its text at once (the text session is open). */
  get textSessionOpen(): boolean {
    return this.loaded?.clip.textReady === true;
  }

  async search(text: string, opts: ListOptions = {}): Promise<ScoredPhoto[]> {
    this.syncMatrix();
    return this.ctx.scorer.search(text, { filter: opts.filter, paths: opts.paths, ...parseTop(opts.top ?? 100) });
  }

  async explain(photoId: number, query: string | AttributeQuery): Promise<Record<string, number>> {
    this.syncMatrix();
    return this.ctx.scorer.explain(photoId, toQuery(this.ctx, query));
  }

  /** Every named signal's score for one photo (plus an optional query's terms): why it ranks where it does. */
  async explainAll(photoId: number, by?: string): Promise<Record<string, number>> {
    this.syncMatrix();
    const terms: QueryTerm[] = by ? [...toQuery(this.ctx, by).attributes] : [];
    terms.push(...PRESETS.map((p) => ({ signal: p.id, label: p.label })));
    for (const s of listSignals(this.ctx)) {
      if (!s.id.startsWith('taste') && !PRESETS.some((p) => p.id === s.id)) terms.push(this.signalTerm(s.id));
    }
    return this.ctx.scorer.explain(photoId, terms);
  }

  /** The loupe's focus-map overlay (null until measured). */
  async focusMap(photoId: number): Promise<FocusMapInfo | null> {
    return focusMapOf(this.db, photoId);
  }

  /** The window's "Out of focus" and "Closed eyes" filters (culling/flaws.ts). */
  async problems(): Promise<PhotoProblems> {
    return photoProblems(this.db);
  }

  private signalTerm(id: string): QueryTerm {
    return toQuery(this.ctx, '@' + id).attributes[0];
  }

  // --- photos and culling --------------------------------------------------------------------

  async photos(filter?: PhotoFilter): Promise<PhotoRecord[]> {
    return this.markUnscored(listPhotos(this.db, filter));
  }

  async photo(id: number): Promise<PhotoRecord | null> {
    const p = getPhoto(this.db, id);
    return p && this.markUnscored([p])[0];
  }

  /**
   * Photos listed before their embedding exists (indexing under way, or stopped) say so: no
   * ranking scores them yet. Judged by the matrix the scorer reads, so "unscored" is exactly
   * "absent from the scores" (a Map lookup per photo).
   */
  private markUnscored(photos: PhotoRecord[]): PhotoRecord[] {
    if (!this.loaded) return photos;
    this.syncMatrix();
    const m = this.loaded.matrix;
    for (const p of photos) if (p.status === 'ok' && m.indexOf(p.id) < 0) p.unscored = true;
    return photos;
  }

  /** The faces found in one photo (works in catalog mode: no model needed). */
  async photoFaces({ id }: { id: number }): Promise<PhotoFaces> {
    return facesOf(this.db, id);
  }

  /** A photo by "#id", path (absolute or relative to the working folder) or unique file name. */
  async resolvePhoto(ref: string): Promise<PhotoRecord> {
    const byId = /^#(\d+)$/.exec(ref.trim());
    if (byId) {
      const p = getPhoto(this.db, Number(byId[1]));
      if (p) return p;
      throw new NotFoundError(`No photo #${byId[1]} in this library.`);
    }
    const id = photoIdAtPath(this.db, path.resolve(ref));
    if (id !== null) return getPhoto(this.db, id)!;
    const exact = photosEndingWith(this.db, ref).filter((n) => path.basename(n.path) === path.basename(ref) && n.path.endsWith(path.sep + ref));
    if (exact.length === 1) return getPhoto(this.db, exact[0].id)!;
    if (exact.length > 1) throw new UserError(`"${ref}" matches several photos (${exact.map((e) => e.path).join(', ')}): give the full path.`);
    throw new NotFoundError(`"${ref}" is not in this library: index its folder first (cull index FOLDER).`);
  }

  async setCulling(ids: number[], change: CullingChange): Promise<PreviousCulling[]> {
    return setCulling(this.db, ids, change);
  }

  async restoreCulling(previous: PreviousCulling[]): Promise<void> {
    restoreCulling(this.db, previous);
  }

  // --- stacks (bursts and near-duplicates) ---------------------------------------------------

  groups(opts: GroupsOptions = {}): Promise<LibraryPhotoGroup[]> {
    return findGroups(this.ctx, opts);
  }

  /** Bursts by capture time alone: works without a model (catalog mode); see findBursts. */
  async bursts(opts: GroupsOptions = {}): Promise<LibraryPhotoGroup[]> {
    return findBursts(this.db, opts);
  }

  async rejectGroupCandidates(groups: Array<{ ids: number[]; bestId: number }>): Promise<PreviousCulling[]> {
    return rejectGroupCandidates(this.db, groups);
  }

  bestOfGroupIds(opts: GroupsOptions & { includeUngrouped?: boolean } = {}): Promise<number[]> {
    return bestOfGroupIds(this.ctx, opts);
  }

  // --- taste models --------------------------------------------------------------------------

  async fitTaste(name?: string, opts: { filter?: PhotoFilter; folds?: number } = {}): Promise<TasteModelInfo> {
    this.syncMatrix();
    return fitTaste(this.ctx, name, opts);
  }

  async maybeRefitTaste(name?: string, everyN?: number): Promise<TasteModelInfo | null> {
    this.syncMatrix();
    return maybeRefitTaste(this.ctx, name, everyN);
  }

  /** The taste models fitted for this library's CLIP model. */
  async tasteModels(): Promise<TasteModelInfo[]> {
    const id = this.modelId();
    return id ? listTasteModels(this.db, id) : [];
  }

  /** Each taste model's score (0…1, as @taste ranks) for one photo; empty without taste models. */
  async tasteScoresOf(photoId: number): Promise<Record<string, number>> {
    this.syncMatrix();
    return tasteScoresOf(this.ctx, photoId);
  }

  async deleteTaste(name: string): Promise<boolean> {
    const id = this.modelId();
    return id ? deleteTasteModel(this.db, (name || DEFAULT_TASTE).trim(), id) : false;
  }

  // --- export --------------------------------------------------------------------------------

  async exportPhotos(
    opts: ExportOptions,
    onProgress?: (done: number, total: number, current?: string) => void,
    signal?: AbortSignal,
  ): Promise<ExportResult> {
    return exportPhotos(this.db, opts, onProgress && ((p) => onProgress(p.done, p.total, p.current)), signal);
  }

  /** Picks what to export (ranked by a query, filtered by flags/ratings) and exports it with every score. */
  async exportSelection(sel: ExportSelection): Promise<ExportResult> {
    let ids: number[];
    const scores: Record<number, Record<string, number>> = {};
    if (sel.by) {
      const ranked = await this.score(sel.by, { filter: sel.filter, top: sel.top, minScore: sel.minScore });
      ids = ranked.map((r) => r.id);
      for (const r of ranked) scores[r.id] = { score: r.score, ...(r.parts && Object.keys(r.parts).length > 1 ? r.parts : {}) };
    } else {
      const all = listPhotos(this.db, sel.filter);
      ids = all.slice(0, topCount(parseTop(sel.top), all.length)).map((p) => p.id);
    }
    if (!ids.length) throw new UserError('Nothing to export: no photo matches the selection.');
    return this.exportPhotos({ photoIds: ids, to: sel.to, mode: sel.mode, xmp: sel.xmp, embedXmp: sel.embedXmp, xmpTarget: sel.xmpTarget, report: sel.report, scores }, sel.onProgress, sel.signal);
  }

  // --- files the UI may show -----------------------------------------------------------------

  thumbPath(id: number): Promise<string | null> {
    return thumbPathOf(this.db, this.thumbsDir, id);
  }

  /** Where the standard preview written at index time is, when its photo has one (the file may not exist). */
  standardPreviewPath(id: number): Promise<string | null> {
    return standardPreviewPathOf(this.db, this.thumbsDir, id);
  }

  /** The original's real path (the loupe's full preview is made from it: services/previews.ts). */
  imagePath(id: number): Promise<string | null> {
    return imagePathOf(this.db, id);
  }

  /** What the loupe's full preview of photo `id` is: the original's, else the thumbnail's (photo-files.ts). */
  previewInfo(id: number): Promise<PreviewInfo | null> {
    return previewInfoOf(this.db, this.thumbsDir, id);
  }

  /** True when `absPath` lies in a library folder or the thumbnail folder, links resolved (photo-files.ts). */
  isInsideLibrary(absPath: string): Promise<boolean> {
    return isInsideLibrary(this.db, this.thumbsDir, absPath);
  }

  async close(): Promise<void> {
    await this.loaded?.matrix.flush(); // a snapshot still being written (large libraries)
    await this.loaded?.clip.dispose();
    this.db.close();
  }
}
