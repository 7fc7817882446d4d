// Shapes shared by the services, the CLI, the IPC bridge and the renderer. Plain data only:
// everything here crosses IPC / HTTP as JSON.

export type Flag = -1 | 0 | 1; // reject, none, pick
export const LABELS = ['red', 'yellow', 'green', 'blue', 'purple'] as const;
export type Label = (typeof LABELS)[number];

export interface PhotoRecord {
  id: number;
  path: string;
  folder: string;
  name: string;
  size: number;
  mtimeMs: number;
  width: number | null;
  height: number | null;
  takenAt: number | null; // ms since epoch
  camera: string | null;
  lens: string | null;
  thumb: string | null; // file name inside the thumbnail cache
  status: 'ok' | 'missing' | 'failed';
  error: string | null;
  rating: number; // 0..5
  flag: Flag;
  label: Label | null;
  /** The flag was set automatically ("keep the best" rejecting a stack's others), not by the photographer. */
  flagAuto?: boolean;
  /** Capture settings from EXIF, when the file has any (read at index; migration 7). */
  capture?: CaptureSettings;
  /** Rating, label or pick another application wrote (XMP sidecar or embedded), read at index. */
  outside?: OutsideDecision | null;
  /**
   * Listed, but not embedded by the library's model yet (indexing has not reached it, or was
   * stopped before): no score of any ranking until it is. Absent once scored, and in catalog mode.
   */
  unscored?: true;
}

/**
 * What the loupe's full preview of a photo is (`/image/<id>`; electron/services/previews.ts):
 * the original file, the JPEG a RAW embeds, a JPEG decoded from HEIC/HEIF/TIFF, or (when none of
 * those can be made) the 512 px thumbnail. `width` × `height` is its size as shown: what "100 %" means.
 */
export interface PreviewInfo {
  source: 'original' | 'embedded' | 'decoded' | 'thumbnail';
  width: number;
  height: number;
  /** A RAW's sensor size as its file states it (unrotated), when known. */
  sensor: { width: number; height: number } | null;
}

/** Decisions read from another application's XMP, with their source (db/xmp-sync.ts). */
export interface OutsideDecision {
  rating: number | null; // xmp:Rating, -1 (rejected) .. 5
  label: string | null; // as written
  pick: 1 | -1 | null; // digiKam PickLabel
  source: 'sidecar' | 'embedded';
  path: string; // the sidecar, or the photo holding the packet
  modifiedAt: number | null; // xmp:MetadataDate, else the file's mtime (ms)
  /** Which fields were taken into the photo's rating/flag/label (a decision made in Cull wins). */
  taken: { rating: boolean; label: boolean; pick: boolean };
}

/** How a photo was taken, from its EXIF; each null when the file does not say. */
export interface CaptureSettings {
  /** Shutter time in seconds (1/250 s = 0.004). */
  exposureTime: number | null;
  fNumber: number | null;
  iso: number | null;
  /** Focal length in mm (as shot, not the 35 mm equivalent). */
  focalLength: number | null;
  /** Exposure compensation in EV. */
  exposureBias: number | null;
}

export interface CullingChange {
  rating?: number;
  flag?: Flag;
  label?: Label | null;
}

export interface PhotoFilter {
  folder?: string; // photos in this folder or below
  minRating?: number;
  flag?: Flag | 'any';
  label?: Label | 'none' | 'any';
  takenAfter?: number;
  takenBefore?: number;
  status?: PhotoRecord['status'] | 'any'; // default 'ok'
  /** false: leave out photos whose decisions came from other applications' XMP (and Cull has not changed since). */
  outside?: boolean;
}

/** One pole of an attribute: prompts averaged (or weighted) into one text direction. */
export interface Pole {
  prompts: string[];
  weights?: number[]; // weighted-sum variant; default equal weights
}

/** An antonym pair scored as CLIP-IQA: softmax(s·cos(x,t+), s·cos(x,t−)) at the positive pole. */
export interface Attribute {
  label: string; // what the user typed or the preset name, for display
  positive: Pole;
  negative: Pole;
  weight?: number; // in a combination; default 1
}

/**
 * A term that names a signal instead of giving prompts: "@quality", "@laion", "@taste:weddings",
 * later "@focus". `signal` is the name without "@" (electron/services/signals/registry.ts resolves it).
 */
export interface SignalTerm {
  label: string;
  signal: string;
  weight?: number; // in a combination; default 1
}

/** One part of a query: typed antonym prompts (an Attribute) or a named signal. */
export type QueryTerm = Attribute | SignalTerm;

export interface AttributeQuery {
  attributes: QueryTerm[]; // combined by weighted average of the per-term scores (each on 0..1)
  minScore?: number; // threshold filter on the combined score, 0..1
}

export interface ScoredPhoto {
  id: number;
  path: string;
  score: number; // 0..1 for attributes; cosine for search; LAION scale (~1..10) for aesthetic
  parts?: Record<string, number>; // per-attribute scores in a combination
}

export interface IndexProgress {
  phase: 'walking' | 'indexing' | 'done';
  found: number; // files found so far
  done: number; // files handled (indexed + skipped + failed)
  total: number; // files to handle (known after walking)
  indexed: number;
  /**
   * Photos stored with their thumbnail this run, before their analyzers ran (the window lists them,
   * "not scored yet"); `indexed` counts those whose analyses are stored too. Optional: older senders.
   */
  listed?: number;
  skipped: number; // unchanged since last run
  failed: number;
  ratePerSec: number;
  etaSec: number | null;
  current?: string; // path being handled
  lastError?: { path: string; reason: string };
  /**
   * Per analyzer (the CLIP embedder, later focus, faces…), in run order: photos it has done this run
   * and photos it has to do (new and changed photos, plus those it has not analysed yet: a backfill).
   * The totals start as an estimate from the database and settle as files are looked at. Always set
   * by the indexer; optional so that older senders stay valid.
   */
  analyzers?: AnalyzerProgress[];
}

export interface AnalyzerProgress {
  id: string;
  label: string;
  done: number;
  total: number;
}

export interface IndexSummary {
  indexed: number;
  skipped: number;
  failed: number;
  missing: number; // files in the database that have disappeared (marked, not dropped)
  renamed: number; // recognised by fingerprint, ratings kept
  /** Files under the indexed folders whose content (size, first and last 64 KiB) another file there also has. */
  duplicates: number;
  errors: { path: string; reason: string }[];
  seconds: number;
  cancelled: boolean;
}

export interface ExportOptions {
  photoIds: number[]; // in the order to export (best first)
  to: string;
  mode: 'copy' | 'link';
  xmp?: boolean; // write XMP sidecars next to the originals
  /** Rating, label and pick keyword in each copy's own XMP (JPEG: embedded; RAW and others: a sidecar beside the copy). Default true. */
  embedXmp?: boolean;
  /** Extra fields for another application's conventions: 'digikam' (ColorLabel, PickLabel), 'photomechanic' (ColorClass). */
  xmpTarget?: 'standard' | 'digikam' | 'photomechanic';
  report?: string; // CSV or JSON path (by extension)
  scores?: Record<number, Record<string, number>>; // per-photo scores for the report
}

export interface ExportSummary {
  exported: { id: number; from: string; to: string }[];
  failed: { id: number; path: string; reason: string }[];
  xmpWritten: number;
  /** Copies that carry the photo's decisions in their own XMP (embedded, or a sidecar beside the copy). */
  xmpInCopies?: number;
  report: string | null;
  destination: string;
}

export interface LibraryStats {
  photos: number;
  embedded: number; // with an embedding for the active model
  missing: number;
  failed: number;
  picks: number;
  rejects: number;
  rated: number;
  /** Photos by star rating (1..5) and by colour label. */
  stars?: Record<string, number>;
  labels?: Record<string, number>;
  /** Photos with decisions read from other applications' XMP (sidecar or embedded); `taken`: into their rating/flag/label. */
  outside?: { photos: number; sidecar: number; embedded: number; taken: number };
  roots: string[];
  model: { id: string; name: string; randomWeights: boolean; architecture: string | null };
}

/** What a taste model is, without its weights: for lists and reports (plain JSON). */
export interface TasteModelInfo {
  name: string;
  modelId: string;
  kind: 'ridge';
  dim: number;
  bias: number;
  lambda: number;
  /** Decisions it was fitted on: picks + rejects + rated photos (a photo counts once). */
  examples: number;
  picks: number;
  rejects: number;
  rated: number;
  metric: 'spearman';
  /** Cross-validated Spearman correlation between predicted and actual decisions (−1…1; 0 = no skill). */
  validation: number | null;
  /** Cross-validated ROC AUC when the decisions are only picks and rejects (0.5 = chance), else null. */
  auc: number | null;
  folds: number;
  /** The photos whose decisions it learns from (a folder for one client, say); null = the whole library. */
  scope: PhotoFilter | null;
  createdAt: number;
}

export interface StoredTasteModel extends TasteModelInfo {
  weights: Float32Array;
}

/** The technical analyzer's focus map of one photo, for the loupe's overlay (db/technical.ts). */
export interface FocusMapInfo {
  /** Tiles per side: the map covers the whole oriented photo in grid × grid tiles, row-major. */
  grid: number;
  /** Per tile, its sharpness (re-blur V/D, 0…1); null where the tile has too little detail to tell. */
  tiles: (number | null)[];
  /** The photo's @focus (null: can't tell). */
  focus: number | null;
}

/** Which photos the window's "Out of focus" and "Closed eyes" filters show (electron/services/culling/flaws.ts). */
export interface PhotoProblems {
  /** Photos whose @focus is below `outOfFocusBelow` (photos without a focus value are in neither list). */
  outOfFocus: number[];
  /** Photos with at least one face whose eyes are closed ("can't tell" does not count). */
  closedEyes: number[];
  /** The one @focus threshold, the same for every photo. */
  outOfFocusBelow: number;
  /** Photos with a focus value, and photos the faces analyzer has looked at: the rest are not judged yet. */
  focusMeasured: number;
  facesMeasured: number;
}

/** A face's eye state: 'unknown' when the analyzer cannot tell (too small, profile, covered eyes…): never guessed as closed. */
export type EyeState = 'open' | 'closed' | 'unknown';

/** One face the faces analyzer found (electron/services/indexing/analyzers/faces.ts). */
export interface PhotoFace {
  /** 0-based, largest face first. */
  index: number;
  /** Fractions 0..1 of the oriented photo (x, y: top-left corner). */
  box: { x: number; y: number; w: number; h: number };
  /** Detector confidence 0..1. */
  confidence: number;
  /**
   * Eye state, and each eye's eyelid opening (upper–lower lid distance / eye width, from the face
   * mesh; about 0.05–0.17 closed, 0.20–0.5 open); null where it was not measured. `reason` says why
   * the state is 'unknown' (or what else is worth saying), in the photographer's words.
   */
  eyes: { state: EyeState; left: number | null; right: number | null; reason?: string };
  /** Focus inside the face (eyes) region at working resolution, 0..1; null when too small or flat to tell. */
  sharpness: number | null;
  /** Smile 0..1 when the model gives one; null otherwise. */
  smile: number | null;
  /** The face's size in pixels of the original photo (the box's larger side). */
  px?: number;
}

/** What the faces analyzer stored for one photo: `analyzed` false until it has run on the photo's current content. */
export interface PhotoFaces {
  analyzed: boolean;
  faces: PhotoFace[];
}
