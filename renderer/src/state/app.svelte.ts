// The renderer's single store (Svelte 5 runes). Large collections use $state.raw: 100 000
// photo records must not be wrapped in deep proxies. Culling edits patch records in place and
// bump `cullVersion`, so a keypress re-renders a handful of tiles instead of re-sorting the grid.
import type { CullApi, ModelStatus, PhotoGroupInfo, PresetInfo, ServerEvent, TasteModelInfo } from '../../../common/api-types.ts';
import type {
  AttributeQuery,
  CullingChange,
  ExportSummary,
  IndexProgress,
  IndexSummary,
  Flag,
  Label,
  LibraryStats,
  PhotoRecord,
  ScoredPhoto,
} from '../../../common/types.ts';
import { chipsFromQuery, combineChips, mergeChips, type AttributeChip, clampWeight, describeChips, tasteChip, tasteChips } from '../lib/attributes.ts';
import { bestOfGroups, buildStackView, groupIndexOf, nextStackIndex, rankGroupsBy, type StackView } from '../lib/stacks.ts';
import { DEFAULT_TASTE, REFIT_EVERY, combineRankings, splitTasteTerms, tasteLabel, tasteQuery } from '../lib/taste.ts';
import { selectForExport, type ExportRule } from '../lib/export-selection.ts';
import { toUiError, type UiError } from '../lib/format.ts';
import type { View } from '../lib/keyboard.ts';
import {
  DEFAULT_FILTER,
  defaultDir,
  folderList,
  makeRanking,
  matchesFilter,
  sortPhotos,
  type Ranking,
  type SortDir,
  type SortKey,
  type ViewFilter,
} from '../lib/sort-filter.ts';
import { UndoStack, labelChange, type CullingEdit } from '../lib/undo.ts';
import { moveIndex, type MoveDirection } from '../lib/virtual-grid.ts';

export interface Toast extends UiError {
  id: number;
}

export interface IndexState {
  running: boolean;
  progress: IndexProgress | null;
  errors: { path: string; reason: string }[];
  summary: IndexSummary | null;
}

export interface ExportState {
  running: boolean;
  done: number;
  total: number;
  current: string | null;
  summary: ExportSummary | null;
  error: UiError | null;
}

export class AppState {
  api!: CullApi;
  ready = $state(false);
  fatal = $state<UiError | null>(null);
  /** Set while no model is installed (first-run screen), or a download is under way. */
  model = $state.raw<ModelStatus | null>(null);
  downloading = $state(false);

  stats = $state.raw<LibraryStats | null>(null);
  roots = $state.raw<string[]>([]);
  photos = $state.raw<PhotoRecord[]>([]);
  presets = $state.raw<PresetInfo[]>([]);
  loadingPhotos = $state(false);

  // Ranking: attribute chips or a free-text search (the latest submitted wins).
  chips = $state.raw<AttributeChip[]>([]);
  queryText = $state('');
  queryError = $state<string | null>(null);
  searchText = $state('');
  searchError = $state<string | null>(null);
  ranking = $state.raw<Ranking | null>(null);
  scoring = $state(false);
  private scoreSeq = 0;

  filter = $state.raw<ViewFilter>({ ...DEFAULT_FILTER });
  sortKey = $state<SortKey>('date');
  sortDir = $state<SortDir>('asc');
  tileSize = $state(180);
  /** Written by the grid: how many columns / rows per page, for arrow and Page keys. */
  layout = { columns: 1, pageRows: 3 };

  view = $state<View>('grid');
  focusId = $state<number | null>(null);
  selected = $state.raw<Set<number>>(new Set());
  private anchorId: number | null = null;
  compareIds = $state.raw<number[]>([]);
  compareActive = $state(0);
  zoom100 = $state(false);
  helpOpen = $state(false);
  exportOpen = $state(false);

  /** Bumped on every culling edit: tiles re-read their record's flag/rating/label. */
  cullVersion = $state(0);
  /** Bumped when an edit can change which photos pass the filter or their order. */
  private viewVersion = $state(0);
  private undoStack = new UndoStack();
  canUndo = $state(false);
  canRedo = $state(false);

  // Stacks: bursts and near-duplicates folded into one tile (api.groups).
  stacksOn = $state(false);
  strictness = $state(50);
  /** The groups as the library proposes them (best by `@quality + @sharpness`). */
  libraryGroups = $state.raw<PhotoGroupInfo[]>([]);
  /** What the grid shows: each group's best re-proposed by the active attribute ranking, if any. */
  groups = $derived<PhotoGroupInfo[]>(rankGroupsBy(this.libraryGroups, this.ranking?.kind === 'attributes' ? this.ranking : null));
  groupsLoading = $state(false);
  expandedStacks = $state.raw<Set<number>>(new Set());
  private groupsSeq = 0;

  // Taste: models learned from the user's decisions (api.fitTaste), ranked by like any attribute.
  tasteModels = $state.raw<TasteModelInfo[]>([]);
  tasteName = $state(DEFAULT_TASTE);
  tasteBusy = $state(false);
  tasteError = $state<string | null>(null);
  tasteNotice = $state<string | null>(null);
  private refitTimer: ReturnType<typeof setTimeout> | null = null;

  indexing = $state<IndexState>({ running: false, progress: null, errors: [], summary: null });
  exporting = $state<ExportState>({ running: false, done: 0, total: 0, current: null, summary: null, error: null });
  toasts = $state<Toast[]>([]);
  private toastSeq = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  // ---- derived view ------------------------------------------------------------------------

  /** Photos passing every filter except the score threshold (the histogram shows these). */
  filtered = $derived.by(() => {
    void this.viewVersion;
    const f = { ...this.filter, minScore: null };
    return this.photos.filter((p) => matchesFilter(p, f, this.ranking));
  });

  /** Every photo passing the filters, in the grid's order (before stacks fold bursts into one tile). */
  sorted = $derived.by(() => {
    const min = this.filter.minScore;
    const r = this.ranking;
    const list = r && min !== null ? this.filtered.filter((p) => (r.score.get(p.id) ?? -Infinity) >= min) : this.filtered;
    return sortPhotos(list, this.sortKey, this.sortDir, r);
  });

  /** Stacks over the sorted photos, when stacks are on. */
  stackView = $derived<StackView | null>(this.stacksOn ? buildStackView(this.sorted, this.groups, this.expandedStacks) : null);

  /** What the grid shows, in order: collapsed stacks as their top photo. */
  visible = $derived(this.stackView ? this.stackView.photos : this.sorted);

  indexOf = $derived.by(() => {
    const m = new Map<number, number>();
    this.visible.forEach((p, i) => m.set(p.id, i));
    return m;
  });

  focusIndex = $derived(this.focusId === null ? -1 : (this.indexOf.get(this.focusId) ?? -1));
  focused = $derived(this.focusIndex >= 0 ? this.visible[this.focusIndex] : null);

  /** Scores of the photos the histogram covers. */
  scoreValues = $derived.by(() => {
    const r = this.ranking;
    if (!r) return new Float64Array(0);
    const out: number[] = [];
    for (const p of this.filtered) {
      const s = r.score.get(p.id);
      if (s !== undefined) out.push(s);
    }
    return Float64Array.from(out);
  });

  folders = $derived(folderList(this.photos));
  /** Photos with a decision a taste model learns from (a pick, a reject or stars). */
  decisions = $derived.by(() => {
    void this.cullVersion;
    let n = 0;
    for (const p of this.photos) if (p.flag !== 0 || p.rating > 0) n++;
    return n;
  });
  currentTaste = $derived(this.tasteModels.find((m) => m.name === this.tasteName) ?? null);
  activeQuery = $derived<AttributeQuery | null>(combineChips(this.chips));
  queryLabel = $derived(describeChips(this.chips));
  randomWeights = $derived(this.stats?.model.randomWeights === true);
  modal = $derived(this.helpOpen || this.exportOpen);

  // ---- startup -----------------------------------------------------------------------------

  async init(api: CullApi): Promise<void> {
    this.api = api;
    api.onEvent((e) => this.onEvent(e));
    try {
      const status = await api.modelStatus();
      if (status.state !== 'ready') {
        // First run: no model yet. The first-run screen offers the download; the library opens
        // when a 'model-status' event says the model is ready.
        this.model = status;
        return;
      }
      await this.openLibrary();
    } catch (err) {
      this.fatal = toUiError(err, 'Cannot open the library');
    }
  }

  private async openLibrary(): Promise<void> {
    const api = this.api;
    const [stats, roots, presets] = await Promise.all([api.stats(), api.roots(), api.presets()]);
    this.model = null;
    this.stats = stats;
    this.roots = roots;
    this.presets = presets;
    await this.loadPhotos();
    this.ready = true;
    void this.loadTasteModels();
  }

  async downloadModel(): Promise<void> {
    this.downloading = true;
    try {
      const status = await this.api.downloadModel();
      await this.onModelStatus(status);
    } catch (err) {
      const e = toUiError(err, 'Download failed');
      if (e.code !== 'cancelled' && this.model) this.model = { ...this.model, state: 'error', error: `${e.message} ${e.hint}` };
    } finally {
      this.downloading = false;
    }
  }

  async cancelDownload(): Promise<void> {
    try {
      await this.api.cancelDownload();
    } catch (err) {
      this.toast(err, 'Cannot cancel the download');
    }
  }

  private async onModelStatus(status: ModelStatus): Promise<void> {
    if (status.state === 'ready') {
      if (!this.ready) {
        try {
          await this.openLibrary();
        } catch (err) {
          this.fatal = toUiError(err, 'Cannot open the library');
        }
      }
    } else if (!this.ready) {
      this.model = status;
    }
  }

  private onEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'index-progress': {
        const p = e.progress;
        const errors = this.indexing.errors;
        if (p.lastError && !errors.some((x) => x.path === p.lastError!.path)) errors.push(p.lastError);
        this.indexing.running = p.phase !== 'done';
        this.indexing.progress = p;
        break;
      }
      case 'index-done':
        this.finishIndex(e.summary);
        break;
      case 'export-progress':
        this.exporting.done = e.done;
        this.exporting.total = e.total;
        this.exporting.current = e.current ?? null;
        break;
      case 'library-changed':
        if (this.ready) this.scheduleRefresh();
        break;
      case 'model-download-progress':
        if (this.model) this.model = { ...this.model, state: 'downloading', progress: e.progress };
        break;
      case 'model-status':
        void this.onModelStatus(e.status);
        break;
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      // Indexing ends with both 'index-done' (which refreshes) and 'library-changed': one reload is enough.
      if (Date.now() - this.lastRefreshAt < 1000) return;
      void this.refresh();
    }, 300);
  }

  private lastRefreshAt = 0;

  async refresh(): Promise<void> {
    this.lastRefreshAt = Date.now();
    try {
      const [stats, roots] = await Promise.all([this.api.stats(), this.api.roots()]);
      this.stats = stats;
      this.roots = roots;
      await this.loadPhotos();
      if (this.ranking) await this.rerank();
      if (this.stacksOn) await this.loadGroups();
    } catch (err) {
      this.toast(err, 'Refreshing the library failed');
    }
  }

  private async loadPhotos(): Promise<void> {
    this.loadingPhotos = true;
    try {
      this.photos = await this.api.photos();
      if (this.focusId === null || !this.photos.some((p) => p.id === this.focusId)) {
        // Focus the first photo of the grid once it is known.
        queueMicrotask(() => this.focusFirst());
      }
    } finally {
      this.loadingPhotos = false;
    }
  }

  private focusFirst(): void {
    const first = this.visible[0];
    this.focusId = first ? first.id : null;
    this.selected = first ? new Set([first.id]) : new Set();
    this.anchorId = this.focusId;
  }

  // ---- toasts --------------------------------------------------------------------------------

  toast(err: unknown, context?: string): void {
    const e = toUiError(err, context);
    if (e.code === 'cancelled') return;
    const id = ++this.toastSeq;
    this.toasts = [...this.toasts.slice(-3), { ...e, id }];
    setTimeout(() => this.dismiss(id), 12_000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  // ---- library ------------------------------------------------------------------------------

  async addRoot(dir: string): Promise<boolean> {
    const path = dir.trim();
    if (!path) return false;
    try {
      this.roots = await this.api.addRoot(path);
      this.stats = await this.api.stats();
      return true;
    } catch (err) {
      this.toast(err, `Cannot add "${path}"`);
      return false;
    }
  }

  async chooseFolder(): Promise<string | null> {
    if (!this.api.chooseFolder) return null;
    try {
      return await this.api.chooseFolder();
    } catch (err) {
      this.toast(err, 'Cannot open the folder chooser');
      return null;
    }
  }

  async removeRoot(dir: string): Promise<void> {
    try {
      this.roots = await this.api.removeRoot(dir);
      await this.refresh();
    } catch (err) {
      this.toast(err, `Cannot remove "${dir}"`);
    }
  }

  async startIndex(roots?: string[]): Promise<void> {
    if (this.indexing.running) return;
    this.indexing = { running: true, progress: null, errors: [], summary: null };
    try {
      const summary = await this.api.index(roots);
      this.finishIndex(summary);
    } catch (err) {
      this.indexing.running = false;
      this.toast(err, 'Indexing failed');
    }
  }

  private finishIndex(summary: IndexSummary): void {
    const first = !this.indexing.summary;
    this.indexing.running = false;
    this.indexing.summary = summary;
    for (const e of summary.errors) {
      if (!this.indexing.errors.some((x) => x.path === e.path)) this.indexing.errors.push(e);
    }
    if (first) void this.refresh();
  }

  async cancelIndex(): Promise<void> {
    try {
      await this.api.cancelIndex();
    } catch (err) {
      this.toast(err, 'Cannot cancel indexing');
    }
  }

  // ---- ranking --------------------------------------------------------------------------------

  /** Enter in the attribute box: replace the combination (add = Shift+Enter: extend it). */
  async submitQuery(text: string, add = false): Promise<boolean> {
    const t = text.trim();
    if (!t) {
      this.queryError = null;
      if (!add) await this.setChips([]);
      return true;
    }
    try {
      // "@taste" / "@taste:NAME" terms become taste chips; the rest is parsed by the library.
      const split = splitTasteTerms(t);
      const parsed = split ? (split.rest ? await this.api.parseQuery(split.rest) : { attributes: [] }) : await this.api.parseQuery(t);
      this.queryError = null;
      const chips = [...(split?.taste ?? []).map((x) => tasteChip(x.name, tasteLabel(x.name), x.weight)), ...chipsFromQuery(parsed)];
      await this.setChips(add ? mergeChips(this.chips, chips) : chips);
      return true;
    } catch (err) {
      this.queryError = toUiError(err).message;
      return false;
    }
  }

  async togglePreset(p: PresetInfo): Promise<void> {
    const existing = this.chips.filter((c) => c.preset === p.id);
    if (existing.length) return this.setChips(this.chips.filter((c) => c.preset !== p.id));
    try {
      const parsed = await this.api.parseQuery('@' + p.id);
      this.queryError = null;
      await this.setChips(mergeChips(this.chips, chipsFromQuery(parsed, p.id)));
    } catch (err) {
      this.queryError = toUiError(err).message;
    }
  }

  async setChipWeight(key: string, weight: number): Promise<void> {
    const w = clampWeight(weight);
    await this.setChips(this.chips.map((c) => (c.key === key ? { ...c, weight: w } : c)));
  }

  async removeChip(key: string): Promise<void> {
    await this.setChips(this.chips.filter((c) => c.key !== key));
  }

  private async setChips(chips: AttributeChip[]): Promise<void> {
    this.chips = chips;
    this.searchText = '';
    this.searchError = null;
    await this.rerank(true);
  }

  async submitSearch(text: string): Promise<void> {
    const t = text.trim();
    this.searchText = t;
    this.searchError = null;
    await this.rerank(true);
  }

  /** Re-scores with the current chips / search; `fresh` re-sorts by score and focuses the best. */
  private async rerank(fresh = false): Promise<void> {
    const seq = ++this.scoreSeq;
    const query = this.activeQuery;
    const search = this.searchText;
    const taste = tasteChips(this.chips);
    if (!search && !query && !taste.length) {
      this.ranking = null;
      this.scoring = false;
      if (this.sortKey === 'score') this.setSort('date');
      if (this.filter.minScore !== null) this.filter = { ...this.filter, minScore: null };
      return;
    }
    this.scoring = true;
    try {
      const results = search ? await this.api.search(search) : await this.scoreChips(query, taste);
      if (seq !== this.scoreSeq) return; // a newer query superseded this one
      this.ranking = makeRanking(search ? 'search' : 'attributes', search ? `“${search}”` : this.queryLabel, results);
      if (fresh) {
        this.filter = { ...this.filter, minScore: null };
        this.sortKey = 'score';
        this.sortDir = 'desc';
        this.focusFirst();
      }
    } catch (err) {
      if (seq !== this.scoreSeq) return;
      const e = toUiError(err);
      if (search) this.searchError = e.message;
      else this.queryError = e.message;
    } finally {
      if (seq === this.scoreSeq) this.scoring = false;
    }
  }

  /** Attribute chips score on the library; taste chips by their model; several are averaged by weight. */
  private async scoreChips(query: AttributeQuery | null, taste: AttributeChip[]): Promise<ScoredPhoto[]> {
    // Without paths: the window has every photo's record already (at 100k that is ~40 % of the reply).
    const lean = { paths: false };
    if (!taste.length) return this.api.score(query!, lean);
    const parts = await Promise.all([
      ...(query ? [this.api.score(query, lean).then((results) => ({ label: query.attributes.length === 1 ? query.attributes[0].label : 'attributes', weight: query.attributes.reduce((s, a) => s + (a.weight ?? 1), 0), results }))] : []),
      ...taste.map((c) => this.api.score(tasteQuery(c.taste!), lean).then((results) => ({ label: c.attribute.label, weight: c.weight, results }))),
    ]);
    if (parts.length === 1) return parts[0].results.map((r) => ({ ...r, parts: { [parts[0].label]: r.score } }));
    return combineRankings(parts);
  }

  /** The taste chip for `name` on or off, like a preset. */
  async toggleTaste(name: string): Promise<void> {
    if (this.chips.some((c) => c.taste === name)) return this.setChips(this.chips.filter((c) => c.taste !== name));
    this.queryError = null;
    await this.setChips(mergeChips(this.chips, [tasteChip(name, tasteLabel(name))]));
  }

  clearRanking(): Promise<void> {
    this.queryText = '';
    this.queryError = null;
    return this.setChips([]);
  }

  setSort(key: SortKey, dir?: SortDir): void {
    this.sortKey = key;
    this.sortDir = dir ?? defaultDir(key);
  }

  setFilter(patch: Partial<ViewFilter>): void {
    this.filter = { ...this.filter, ...patch };
  }

  resetFilters(): void {
    this.filter = { ...DEFAULT_FILTER };
  }

  filtersActive = $derived.by(() => {
    const f = this.filter;
    return f.flag !== 'any' || f.minRating > 0 || f.label !== 'any' || f.folder !== null || f.from !== null || f.to !== null || f.minScore !== null;
  });

  // ---- focus & selection ----------------------------------------------------------------------

  focus(id: number, mode: 'single' | 'toggle' | 'range' = 'single'): void {
    if (mode === 'toggle') {
      const next = new Set(this.selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      this.selected = next;
      this.anchorId = id;
    } else if (mode === 'range' && this.anchorId !== null && this.indexOf.has(this.anchorId)) {
      const a = this.indexOf.get(this.anchorId)!;
      const b = this.indexOf.get(id) ?? a;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      this.selected = new Set(this.visible.slice(lo, hi + 1).map((p) => p.id));
    } else {
      this.selected = new Set([id]);
      this.anchorId = id;
    }
    this.focusId = id;
  }

  move(dir: MoveDirection, columns: number, pageRows: number, extend = false): void {
    if (this.view === 'compare') {
      const n = this.compareIds.length;
      if (dir === 'left' || dir === 'prev') this.compareActive = Math.max(0, this.compareActive - 1);
      if (dir === 'right' || dir === 'next') this.compareActive = Math.min(n - 1, this.compareActive + 1);
      return;
    }
    const cols = this.view === 'grid' ? columns : 1;
    const idx = moveIndex(this.focusIndex, dir, cols, this.visible.length, pageRows);
    if (idx < 0) return;
    this.focus(this.visible[idx].id, extend ? 'range' : 'single');
  }

  selectAll(): void {
    this.selected = new Set(this.visible.map((p) => p.id));
  }

  /** Photos a culling key applies to: the compared photo, the loupe photo, or the grid selection. */
  targets(): PhotoRecord[] {
    if (this.view === 'compare') {
      const id = this.compareIds[this.compareActive];
      const p = id === undefined ? undefined : this.photoById(id);
      return p ? [p] : [];
    }
    const focused = this.focused;
    if (this.view === 'grid' && this.selected.size > 1 && focused && this.selected.has(focused.id)) {
      return this.visible.filter((p) => this.selected.has(p.id));
    }
    return focused ? [focused] : [];
  }

  photoById(id: number): PhotoRecord | undefined {
    const i = this.indexOf.get(id);
    if (i !== undefined) return this.visible[i];
    return this.photos.find((p) => p.id === id);
  }

  // ---- culling --------------------------------------------------------------------------------

  /**
   * Culling edits, undo and redo run one after another in key order: an undo pressed before the
   * previous edit's answer arrived must undo that edit, not the one before it.
   */
  private cullQueue: Promise<void> = Promise.resolve();
  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.cullQueue.then(op, op);
    this.cullQueue = next.catch(() => {});
    return next;
  }

  /** `change` may be a function of the targets, evaluated once the edits before it have landed. */
  cull(change: CullingChange | ((targets: PhotoRecord[]) => CullingChange)): Promise<void> {
    // Targets are taken now (the photos under the focus when the key was pressed).
    const targets = this.targets();
    const ids = targets.map((p) => p.id);
    if (!ids.length) return Promise.resolve();
    return this.enqueue(async () => {
      if (typeof change === 'function') change = change(targets);
      try {
        const previous = await this.api.setCulling(ids, change);
        this.patch(ids.map((id) => ({ id, ...change })));
        this.undoStack.push({ ids, change, previous });
        this.syncUndo();
        if (change.flag !== undefined || change.rating !== undefined) this.scheduleRefit();
      } catch (err) {
        this.toast(err, 'Cannot save the rating');
      }
    });
  }

  label(label: Label): Promise<void> {
    // Toggle against the labels as they are after any edit still in flight.
    return this.cull((targets) => labelChange(targets, label));
  }

  undo(): Promise<void> {
    return this.enqueue(async () => {
      const edit = this.undoStack.undo();
      if (!edit) return;
      try {
        await this.api.restoreCulling(edit.previous);
        this.patch(edit.previous);
        this.refocus(edit);
      } catch (err) {
        this.undoStack.revert('undo');
        this.toast(err, 'Undo failed');
      }
      this.syncUndo();
    });
  }

  redo(): Promise<void> {
    return this.enqueue(async () => {
      const edit = this.undoStack.redo();
      if (!edit) return;
      try {
        edit.previous = await this.api.setCulling(edit.ids, edit.change);
        this.patch(edit.ids.map((id) => ({ id, ...edit.change })));
        this.refocus(edit);
      } catch (err) {
        this.undoStack.revert('redo');
        this.toast(err, 'Redo failed');
      }
      this.syncUndo();
    });
  }

  /** Undo shows what it changed: focus the edited photo again when it is still in the grid. */
  private refocus(edit: CullingEdit): void {
    if (this.view === 'grid' && edit.ids.length === 1 && this.indexOf.has(edit.ids[0])) this.focus(edit.ids[0]);
  }

  private syncUndo(): void {
    this.canUndo = this.undoStack.canUndo;
    this.canRedo = this.undoStack.canRedo;
  }

  /** Writes culling values into the shared records (no copy of the 100k-element arrays). */
  private patch(changes: { id: number; rating?: number; flag?: Flag; label?: string | null }[]): void {
    const byId = new Map(changes.map((c) => [c.id, c]));
    for (const p of this.photos) {
      const c = byId.get(p.id);
      if (!c) continue;
      if (c.rating !== undefined) p.rating = c.rating;
      if (c.flag !== undefined) p.flag = c.flag;
      if (c.label !== undefined) p.label = c.label as Label | null;
    }
    this.cullVersion++;
    const f = this.filter;
    if (f.flag !== 'any' || f.minRating > 0 || f.label !== 'any' || this.sortKey === 'rating') this.viewVersion++;
    void this.api.stats().then((s) => (this.stats = s), () => {});
  }

  // ---- stacks ---------------------------------------------------------------------------------

  async setStacks(on: boolean): Promise<void> {
    this.stacksOn = on;
    if (on) await this.loadGroups();
    else this.groupsSeq++;
  }

  async setStrictness(value: number): Promise<void> {
    const v = Math.max(0, Math.min(100, Math.round(value)));
    if (v === this.strictness && this.groups.length) return;
    this.strictness = v;
    if (this.stacksOn) await this.loadGroups();
  }

  /** Fetches the groups at the current strictness (the newest request wins). */
  async loadGroups(): Promise<void> {
    const seq = ++this.groupsSeq;
    this.groupsLoading = true;
    try {
      const groups = await this.api.groups({ strictness: this.strictness });
      if (seq !== this.groupsSeq) return;
      this.libraryGroups = groups;
      const keys = new Set(this.groups.map((g) => g.bestId));
      this.expandedStacks = new Set([...this.expandedStacks].filter((k) => keys.has(k)));
      // The focused photo may now be folded into a stack: focus its top.
      const f = this.focusId;
      if (f !== null && !this.indexOf.has(f)) {
        const k = groupIndexOf(this.groups, f);
        const top = k >= 0 ? this.visible.find((p) => this.stackView?.info.get(p.id)?.group === k) : undefined;
        if (top) this.focus(top.id);
        else this.focusFirst();
      }
    } catch (err) {
      if (seq === this.groupsSeq) this.toast(err, 'Cannot find bursts and near-duplicates');
    } finally {
      if (seq === this.groupsSeq) this.groupsLoading = false;
    }
  }

  /** The stack of a photo in the current view, if it is in one. */
  stackOf(id: number | null): { group: PhotoGroupInfo; key: number } | null {
    if (id === null || !this.stackView) return null;
    const s = this.stackView.info.get(id);
    return s ? { group: this.groups[s.group], key: s.key } : null;
  }

  /** S / the count badge: expands or collapses the stack of `id` (default: the focused photo). */
  toggleStack(id: number | null = this.focusId): void {
    if (!this.stacksOn) {
      this.toast({ code: 'invalid-argument', message: 'Stacks are off: press Shift+S (or the Stacks button) to fold bursts and near-duplicates.' });
      return;
    }
    const st = this.stackOf(id);
    if (!st) return;
    const next = new Set(this.expandedStacks);
    if (next.has(st.key)) {
      next.delete(st.key);
      this.expandedStacks = next;
      // Collapsed: the focus goes to the stack's top (the member focused may be hidden now).
      const top = this.visible.find((p) => this.stackView?.info.get(p.id)?.key === st.key);
      if (top) this.focus(top.id);
    } else {
      next.add(st.key);
      this.expandedStacks = next;
      if (id !== null) this.focus(id);
    }
  }

  /**
   * K / "Keep best": rejects every member of the focused photo's stack except the proposed best
   * (picks are never rejected), as one undoable edit; then moves on to the next stack.
   */
  confirmStack(): Promise<void> {
    const st = this.stackOf(this.focusId);
    if (!st) {
      this.toast({ code: 'invalid-argument', message: this.stacksOn ? 'This photo is in no stack.' : 'Stacks are off: press Shift+S to show bursts and near-duplicates as stacks.' });
      return Promise.resolve();
    }
    const group = { ids: st.group.ids, bestId: st.group.bestId };
    return this.enqueue(async () => {
      try {
        const previous = await this.api.rejectGroupCandidates([group]);
        const ids = previous.map((p) => p.id);
        if (ids.length) {
          const change: CullingChange = { flag: -1 };
          this.patch(ids.map((id) => ({ id, ...change })));
          this.undoStack.push({ ids, change, previous });
          this.syncUndo();
          this.scheduleRefit();
        }
        const view = this.stackView;
        if (view && this.view === 'grid') {
          const next = nextStackIndex(view, this.indexOf.get(group.bestId) ?? this.focusIndex);
          if (next >= 0) this.focus(view.photos[next].id);
        }
      } catch (err) {
        this.toast(err, 'Cannot apply the stack’s proposal');
      }
    });
  }

  // ---- taste ----------------------------------------------------------------------------------

  async loadTasteModels(): Promise<void> {
    try {
      this.tasteModels = await this.api.tasteModels();
      if (!this.tasteModels.some((m) => m.name === this.tasteName) && this.tasteModels.length && this.tasteName === DEFAULT_TASTE) {
        this.tasteName = this.tasteModels[0].name;
      }
    } catch (err) {
      this.toast(err, 'Cannot list the taste models');
    }
  }

  /** Fits (or refits) the taste model `name` on the decisions so far. */
  async fitTaste(name: string = this.tasteName): Promise<boolean> {
    const key = name.trim();
    if (!key) return false;
    this.tasteBusy = true;
    this.tasteError = null;
    this.tasteNotice = null;
    try {
      const m = await this.api.fitTaste(key);
      this.tasteName = m.name;
      this.tasteModels = await this.api.tasteModels();
      await this.afterTasteChange(m.name);
      return true;
    } catch (err) {
      this.tasteError = toUiError(err).message;
      return false;
    } finally {
      this.tasteBusy = false;
    }
  }

  async deleteTaste(name: string): Promise<void> {
    try {
      await this.api.deleteTaste(name);
      this.tasteModels = await this.api.tasteModels();
      if (this.chips.some((c) => c.taste === name)) await this.setChips(this.chips.filter((c) => c.taste !== name));
      if (this.tasteName === name) this.tasteName = this.tasteModels[0]?.name ?? DEFAULT_TASTE;
    } catch (err) {
      this.toast(err, `Cannot delete the taste model "${name}"`);
    }
  }

  /** A taste model changed: re-rank when the ranking uses it. */
  private async afterTasteChange(name: string): Promise<void> {
    if (this.chips.some((c) => c.taste === name)) await this.rerank();
  }

  /** After decisions: refit the current taste model once REFIT_EVERY new ones have been made. */
  private scheduleRefit(): void {
    if (!this.currentTaste) return;
    if (this.refitTimer) clearTimeout(this.refitTimer);
    this.refitTimer = setTimeout(() => {
      this.refitTimer = null;
      void this.maybeRefit();
    }, 600);
  }

  private async maybeRefit(): Promise<void> {
    const name = this.currentTaste?.name;
    if (!name || this.tasteBusy) return;
    try {
      const m = await this.api.maybeRefitTaste(name, REFIT_EVERY);
      if (!m) return;
      this.tasteModels = await this.api.tasteModels();
      this.tasteNotice = `Refitted automatically on ${m.examples} decisions.`;
      await this.afterTasteChange(name);
    } catch {
      // A refit that fails (e.g. every decision the same) waits for the user's next Fit.
    }
  }

  // ---- views ----------------------------------------------------------------------------------

  openLoupe(): void {
    if (this.focused) {
      this.view = 'loupe';
      this.zoom100 = false;
    }
  }

  openCompare(): void {
    const sel = this.visible.filter((p) => this.selected.has(p.id)).map((p) => p.id);
    let ids = sel.slice(0, 4);
    if (ids.length < 2) {
      // Nothing multi-selected: compare the focused photo with the next one.
      const i = Math.max(0, this.focusIndex);
      ids = this.visible.slice(i, i + 2).map((p) => p.id);
    }
    if (ids.length < 2) {
      this.toast({ code: 'invalid-argument', message: 'Compare needs at least two photos: Ctrl/⌘-click or Shift-click 2–4 photos.' });
      return;
    }
    this.compareIds = ids;
    this.compareActive = Math.max(0, ids.indexOf(this.focusId ?? -1));
    this.view = 'compare';
  }

  closeView(): void {
    if (this.view === 'compare') {
      const id = this.compareIds[this.compareActive];
      if (id !== undefined && this.indexOf.has(id)) this.focus(id);
    }
    this.view = 'grid';
  }

  // ---- export ---------------------------------------------------------------------------------

  exportIds(rule: ExportRule): number[] {
    // Best of each group is taken from every photo passing the filters, stacked or not.
    return selectForExport(rule.kind === 'bestOfGroups' ? this.sorted : this.visible, rule);
  }

  /**
   * Best of each group at the current strictness (stacks on or off): the library's proposal, or,
   * with an attribute ranking active, each group's best by that ranking, as the stacks show it.
   */
  async bestOfGroupIds(includeUngrouped: boolean): Promise<number[]> {
    const ranking = this.ranking?.kind === 'attributes' ? this.ranking : null;
    if (!ranking) return this.api.bestOfGroupIds({ strictness: this.strictness, includeUngrouped });
    const groups = rankGroupsBy(await this.api.groups({ strictness: this.strictness }), ranking);
    return bestOfGroups(this.photos, groups, includeUngrouped);
  }

  async runExport(opts: { ids: number[]; to: string; mode: 'copy' | 'link'; xmp: boolean; report: string | null; createFolder?: boolean }): Promise<void> {
    this.exporting = { running: true, done: 0, total: opts.ids.length, current: null, summary: null, error: null };
    // The report gets each exported photo's scores for the active ranking.
    let scores: Record<number, Record<string, number>> | undefined;
    const r = this.ranking;
    if (r) {
      scores = {};
      for (const id of opts.ids) {
        const s = r.score.get(id);
        if (s === undefined) continue;
        scores[id] = { ...(r.parts.get(id) ?? {}), [r.kind === 'search' ? 'search' : 'score']: s };
      }
    }
    try {
      const summary = await this.api.exportPhotos({
        photoIds: opts.ids,
        to: opts.to,
        mode: opts.mode,
        xmp: opts.xmp,
        report: opts.report || undefined,
        scores,
        createFolder: opts.createFolder,
      });
      this.exporting.summary = summary;
    } catch (err) {
      this.exporting.error = toUiError(err, 'Export failed');
    } finally {
      this.exporting.running = false;
    }
  }

  async cancelExport(): Promise<void> {
    try {
      await this.api.cancelExport();
    } catch (err) {
      this.toast(err, 'Cannot cancel the export');
    }
  }
}

export const app = new AppState();
