// What the indexer runs over each decoded photo. An analyzer names what it needs from the one
// decode (CLIP input pixels, a working-size raster), turns a batch of decoded photos into results,
// and stores them in its own table(s), inside the indexer's one transaction per batch.
//
// Which photos still need an analyzer — the ledger. By default the indexer keeps a shared table,
// `analyses (photo_id, analyzer, version)` (db/analyses.ts), written in the same transaction as the
// analyzer's own rows. A shared ledger rather than each analyzer's table because:
//   - "done" must be recordable when there is nothing to store (a face analyzer finding no face
//     writes no face row, yet must not run again on that photo next time);
//   - versions, resumption and progress totals are then one rule for every analyzer, not a query
//     each analyzer gets right on its own; and its own tables stay free-form;
//   - a photo whose content changes (or that goes with other content) drops its ledger rows in
//     db/photos.ts, so every analyzer — even one not in this run's list — redoes it when next run.
// A photo is done for an analyzer when its ledger row's version >= analyzer.version (an older
// build sharing the library with a newer one does not undo the newer results, and back).
// An analyzer whose results are their own record may say so with `isDone` instead: the CLIP
// embedder's rule is "an embedding for this model id exists" (the embeddings table, as before
// analyzers existed, so libraries indexed earlier are not re-embedded).
//
// Adding one: a class implementing Analyzer, a line in ./index.ts. Raising `version` re-runs just
// that analyzer over the library (a backfill: decode again, run it, nothing else).
import type { DB } from '../../../../db/database.ts';
import type { PreprocessSpec } from '../../../../native-models/types.ts';
import type { Raster } from '../../../../native-models/preprocess.ts';

export type { Raster };

/** What an analyzer needs from the photo's decode. All of it comes from one decode per photo. */
export interface DecodeNeeds {
  /** CLIP's normalised CHW input for this spec (every analyzer of a run asking for it must agree on one spec). */
  clip?: PreprocessSpec;
  /** An oriented sRGB raster whose long side is `longSide` (or the photo's own, when smaller: never enlarged). */
  working?: { longSide: number };
}

/** One decoded photo, as an analyzer sees it. */
export interface AnalyzerInput {
  path: string;
  /** Oriented size of the original. */
  width: number;
  height: number;
  /** Present when needs.clip: imageSize² × 3 CHW floats. */
  clip?: Float32Array;
  /** Present when needs.working. */
  working?: Raster;
}

export interface Analyzer<R = unknown> {
  /** Stable id, stored in the ledger: e.g. 'technical', 'faces', 'clip:<model id>'. */
  readonly id: string;
  /** For progress: "Embedding", "Focus & exposure". */
  readonly label: string;
  /** Raise it when results change meaning: photos analysed by an older version are done again. */
  readonly version: number;
  readonly needs: DecodeNeeds;
  /** Photos per analyze() call at most (the indexer's batch, one transaction, may be larger). */
  readonly batchSize: number;
  /** Creates the analyzer's own tables if absent (CREATE TABLE IF NOT EXISTS). Called once per run. */
  ensureSchema?(db: DB): void;
  /**
   * Opens what analyze() needs (a model) ahead of the first batch: the indexer starts it when the
   * run has photos for this analyzer, so the one-time cost overlaps the first decodes, and the
   * benchmark times it apart from the per-photo cost (test/bench/index-child.ts). Optional and
   * idempotent: analyze() opens it anyway when it was not prepared; a failure here is the one
   * analyze() then reports.
   */
  prepare?(): Promise<void>;
  /** One result per input, in order. May run native work asynchronously; a throw fails the run (stored batches stay). */
  analyze(batch: AnalyzerInput[]): Promise<R[]>;
  /**
   * Writes results, replacing whatever the photo had from this analyzer. Called inside the batch's
   * transaction, with the photos' rows already stored; the ledger row is written by the indexer.
   */
  store(db: DB, results: { photoId: number; result: R }[]): void;
  /** Replaces the ledger for this analyzer (and then no ledger row is written for it). */
  isDone?(db: DB, photoId: number): boolean;
}

/** Rec. 709 luma, 0..255, of the RGB pixel at byte offset `s`. */
export const lumaAt = (d: Uint8Array, s: number): number => 0.2126 * d[s] + 0.7152 * d[s + 1] + 0.0722 * d[s + 2];

/** Rec. 709 luma of a raster, 0..255 per pixel (for analyzers that look at brightness or focus). */
export function luminance(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n);
  for (let i = 0, s = 0; i < n; i++, s += 3) out[i] = lumaAt(r.data, s);
  return out;
}
