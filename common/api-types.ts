// `window.cull`: the one API the renderer uses. Two transports implement it with the same
// semantics: Electron IPC (electron/desktop/preload.ts) in the app, and HTTP + WebSocket on 127.0.0.1
// (electron/transport/) for `npm run serve` and the browser tests. Every call resolves with plain
// JSON data or rejects with an `ApiError`-shaped error ({ code, message }).
import type {
  AttributeQuery,
  CullingChange,
  ExportOptions,
  ExportSummary,
  FocusMapInfo,
  IndexProgress,
  IndexSummary,
  LibraryStats,
  PhotoFaces,
  PhotoFilter,
  PhotoProblems,
  PhotoRecord,
  PreviewInfo,
  ScoredPhoto,
  TasteModelInfo,
} from './types.ts';

export type { TasteModelInfo };

export type ApiErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'outside-library'
  | 'busy'
  | 'cancelled'
  | 'incomplete' // a job stopped part-way (an export's report could not be written): the message says what was done, then what failed
  | 'internal'
  | 'no-model' // no CLIP model installed yet: the UI shows the first-run screen (modelStatus/downloadModel)
  | 'unauthorized'; // HTTP transport only: missing or wrong token (open the URL printed by `npm run serve`)

export interface ApiError {
  code: ApiErrorCode;
  message: string; // what went wrong (and what to do, when there is no hint), for the user
  hint?: string; // what to do about it, when the message does not say it
}

export interface PresetInfo {
  id: string;
  label: string;
  description: string;
}

export interface PreviousCulling {
  id: number;
  rating: number;
  flag: -1 | 0 | 1;
  label: string | null;
  /** The flag had been set automatically ("keep the best"), not by the photographer. */
  flagAuto?: boolean;
}

/** Whether a CLIP model is installed; without one the window shows a first-run screen offering the download. */
export interface ModelStatus {
  state: 'ready' | 'missing' | 'downloading' | 'error';
  /** Folder the model is (or will be) loaded from. */
  dir: string;
  /** Set when ready. randomWeights → the UI must say "test model with random weights: scores are meaningless". */
  model?: { id: string; name: string; randomWeights: boolean; architecture: string | null };
  /** What can be downloaded (registry default entry), for the first-run screen. */
  download?: { id: string; name: string; bytes: number | null };
  /** While downloading. */
  progress?: ModelDownloadProgress;
  /** When state is 'error' (or 'missing' after a failed download): what went wrong, for the user. */
  error?: string;
}

export interface ModelDownloadProgress {
  received: number; // bytes so far, all files
  total: number | null; // bytes expected, when known
  file?: string; // file being downloaded
}

/** A burst or near-duplicate group as the window gets it (electron/services/culling/groups.ts). */
export interface PhotoGroupInfo {
  /** Best first, then the candidates to reject (by score). */
  ids: number[];
  bestId: number;
  reason: 'burst' | 'near-duplicate' | 'both';
  /** Each member's score by `by`, aligned with ids. */
  scores: number[];
  /** The attribute that ranked the members ("@quality + @sharpness" unless asked otherwise). */
  by: string;
  /**
   * Why the best is the best, in words, when the score alone did not decide: frames passed over
   * for closed eyes or for being soft against the stack's sharpest ("IMG_2 has eyes closed: 1 of 2
   * faces"). Empty when the best is simply the highest score.
   */
  why: string[];
}

export interface GroupsOptions {
  /** 0 (loose) … 100 (strict); default 50. */
  strictness?: number;
  /** What makes the best photo: a query as typed or parsed ("@taste + sharp vs blurry"); default "@quality + @sharpness". */
  by?: string | AttributeQuery;
  filter?: PhotoFilter;
  includeRejected?: boolean;
}

/** Every preset's score for one photo, and each taste model's (the loupe's "why"). */
export interface PhotoExplanation {
  presets: Record<string, number>;
  /** Taste model name → 0…1 score; empty when no taste model has been fitted. */
  taste: Record<string, number>;
}

/** Export options as the window sends them: `createFolder` makes a missing destination (one level, in an existing folder). */
export type ExportRequest = ExportOptions & { createFolder?: boolean };

export type ServerEvent =
  | { type: 'index-progress'; progress: IndexProgress }
  | { type: 'index-done'; summary: IndexSummary }
  | { type: 'export-progress'; done: number; total: number; current?: string }
  | { type: 'library-changed' }
  | { type: 'model-download-progress'; progress: ModelDownloadProgress }
  | { type: 'model-status'; status: ModelStatus }; // after a download finishes or fails

// ---------------------------------------------------------------------------------------------
// The transported methods, declared once. Each entry names a method and its signature; the
// object's keys are the method names at run time (API_METHOD_NAMES: one IPC channel `cull:<name>`
// and one HTTP route `POST /api/<name>` each) and its types make `TransportedApi`. The server side
// (electron/transport/methods.ts) must have one entry per key — validator and handler — or it
// does not compile. chooseFolder is Electron-only (handled in the main process); thumbUrl,
// imageUrl and onEvent are implemented client-side.

/** A method's signature, declared as a value so that its name also exists at run time. */
export interface Signature<F extends (...args: never[]) => Promise<unknown>> {
  readonly signature?: F;
}
const sig = <F extends (...args: never[]) => Promise<unknown>>(): Signature<F> => ({});

type ScoreOptions = { filter?: PhotoFilter; top?: number; paths?: boolean };

export const API_METHODS = {
  /** Works without a model; every other library method rejects with code 'no-model' until one is installed. */
  modelStatus: sig<() => Promise<ModelStatus>>(),
  /** Downloads the default model (progress as 'model-download-progress' events), then opens the library. */
  downloadModel: sig<() => Promise<ModelStatus>>(),
  cancelDownload: sig<() => Promise<void>>(),

  stats: sig<() => Promise<LibraryStats>>(),
  roots: sig<() => Promise<string[]>>(),
  addRoot: sig<(dir: string) => Promise<string[]>>(),
  removeRoot: sig<(dir: string) => Promise<string[]>>(),

  /** Starts indexing the given roots (default: all); progress arrives as events. Resolves when done. */
  index: sig<(roots?: string[]) => Promise<IndexSummary>>(),
  cancelIndex: sig<() => Promise<void>>(),

  presets: sig<() => Promise<PresetInfo[]>>(),
  /** Parses what the user typed ("scary vs peaceful + 0.5*sharp vs blurry", "@quality"); rejects with a readable message. */
  parseQuery: sig<(text: string) => Promise<AttributeQuery>>(),
  /** `paths: false`: results with empty paths (the window has its photo records). */
  score: sig<(query: string | AttributeQuery, opts?: ScoreOptions) => Promise<ScoredPhoto[]>>(),
  search: sig<(text: string, opts?: ScoreOptions) => Promise<ScoredPhoto[]>>(),
  /** Opens the text encoder ahead of the first search (the window calls it once idle after opening the library). */
  prepareSearch: sig<() => Promise<{ textSessionOpen: boolean }>>(),
  explain: sig<(photoId: number, query: string | AttributeQuery) => Promise<Record<string, number>>>(),
  /** Every preset's (and taste model's) score for one photo. */
  explainAll: sig<(photoId: number) => Promise<PhotoExplanation>>(),
  /** The photo's focus map for the loupe's overlay; null until the technical analyzer has measured it. */
  focusMap: sig<(photoId: number) => Promise<FocusMapInfo | null>>(),
  /** Which photos are out of focus and which have closed eyes (the window's two filters). */
  problems: sig<() => Promise<PhotoProblems>>(),
  /** The faces found in one photo (boxes, eye states, face focus); analyzed false until the faces analyzer ran on it. */
  photoFaces: sig<(photo: { id: number }) => Promise<PhotoFaces>>(),

  /** Bursts and near-duplicates, best first in each (rejected photos left out unless asked). */
  groups: sig<(opts?: GroupsOptions) => Promise<PhotoGroupInfo[]>>(),
  /** Rejects every member of each group but its best (picks are never rejected); the previous states, for undo. */
  rejectGroupCandidates: sig<(groups: { ids: number[]; bestId: number }[]) => Promise<PreviousCulling[]>>(),
  /** "Best of each group": every group's best, members you picked, and (by default) every photo in no group. */
  bestOfGroupIds: sig<(opts?: GroupsOptions & { includeUngrouped?: boolean }) => Promise<number[]>>(),

  /** Taste models fitted for this library's CLIP model. */
  tasteModels: sig<() => Promise<TasteModelInfo[]>>(),
  /** Fits (or refits) a taste model on the picks, rejects and star ratings so far (default name "my taste"). */
  fitTaste: sig<(name?: string) => Promise<TasteModelInfo>>(),
  /** Refits when at least `everyN` decisions were added since the last fit; null when nothing was done. */
  maybeRefitTaste: sig<(name?: string, everyN?: number) => Promise<TasteModelInfo | null>>(),
  deleteTaste: sig<(name: string) => Promise<boolean>>(),

  photos: sig<(filter?: PhotoFilter) => Promise<PhotoRecord[]>>(),
  photo: sig<(id: number) => Promise<PhotoRecord | null>>(),
  /** What the loupe's full preview of a photo is and its size (a RAW's embedded preview, a decoded HEIC, the original). */
  previewInfo: sig<(id: number) => Promise<PreviewInfo | null>>(),
  setCulling: sig<(ids: number[], change: CullingChange) => Promise<PreviousCulling[]>>(),
  restoreCulling: sig<(previous: PreviousCulling[]) => Promise<void>>(),

  exportPhotos: sig<(opts: ExportRequest) => Promise<ExportSummary>>(),
  cancelExport: sig<() => Promise<void>>(),
} as const;

export type ApiMethodName = keyof typeof API_METHODS;

/** The methods that cross a transport, with their signatures. */
export type TransportedApi = { [K in ApiMethodName]: NonNullable<(typeof API_METHODS)[K]['signature']> };

/** Every transported method's name, in declaration order. */
export const API_METHOD_NAMES = Object.keys(API_METHODS) as ApiMethodName[];

export function isApiMethodName(name: unknown): name is ApiMethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API_METHODS, name);
}

/**
 * A TransportedApi whose every method is `call(name, args)`: how each transport's client (the
 * preload, the HTTP client, the renderer's wrappers) is built, so none of them lists the methods.
 */
export function bindMethods(call: (method: ApiMethodName, args: unknown[]) => Promise<unknown>): TransportedApi {
  const api: Record<string, unknown> = {};
  for (const name of API_METHOD_NAMES) api[name] = (...args: unknown[]) => call(name, args);
  return api as TransportedApi;
}

export interface CullApi extends TransportedApi {
  /** Asks the user for a folder (native dialog in Electron; in the browser transport, a prompt the UI shows). */
  chooseFolder?(): Promise<string | null>;

  /**
   * URL the renderer can put in <img src> for a photo's thumbnail / full preview (previewInfo says
   * what it is); with `fit`, a rendition of the full preview whose long side is at least `fit` device
   * pixels, for the fit view (see electron/services/previews.ts).
   */
  thumbUrl(id: number): string;
  imageUrl(id: number, fit?: number): string;

  onEvent(listener: (event: ServerEvent) => void): () => void;
}

/** IPC channel carrying ServerEvents from the main process to the window. */
export const EVENT_CHANNEL = 'cull:event';
export const channelFor = (method: ApiMethodName | 'chooseFolder'): string => `cull:${method}`;
