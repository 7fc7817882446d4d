// The CLIP image embedder as an analyzer: one embedding per photo and model, in `embeddings`.
// Keyed by model id: an embedding belongs to one model, so its "needs work" rule is "no embedding
// for this model id" (isDone, the embeddings table itself; no ledger row), and switching models is
// a backfill of the new model's embeddings. Photos per model call: 8 (see the indexer's header for
// how decoding overlaps inference).
import type { DB } from '../../../../db/database.ts';
import { photoQueries } from '../../../../db/photos.ts';
import type { ClipModel } from '../../../../native-models/types.ts';
import type { Analyzer, AnalyzerInput } from './analyzer.ts';

export class ClipAnalyzer implements Analyzer<Float32Array> {
  readonly id: string;
  readonly label = 'Embedding';
  readonly version = 1;
  readonly needs;
  readonly batchSize = 8;

  constructor(private readonly model: ClipModel) {
    this.id = `clip:${model.info.id}`;
    this.needs = { clip: model.info.preprocess };
  }

  async analyze(batch: AnalyzerInput[]): Promise<Float32Array[]> {
    const pixels = concat(batch.map((d) => d.clip!));
    const vectors = await this.model.embedImages(pixels, batch.length);
    const dim = this.model.info.dim;
    if (vectors.length !== batch.length * dim) {
      throw new Error(`model returned ${vectors.length} values for ${batch.length} images of dimension ${dim}`);
    }
    return batch.map((_, i) => vectors.subarray(i * dim, (i + 1) * dim));
  }

  store(db: DB, results: { photoId: number; result: Float32Array }[]): void {
    const q = photoQueries(db);
    for (const { photoId, result } of results) {
      q.storeEmbedding(photoId, this.model.info.id, result);
      // The embedding matrix finds changed embeddings by photos.indexed_at: a photo embedded by a
      // backfill (a new model) keeps its row otherwise untouched, so mark it re-indexed.
      q.touchIndexed(photoId);
    }
  }

  isDone(db: DB, photoId: number): boolean {
    return photoQueries(db).hasEmbedding(photoId, this.model.info.id);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
