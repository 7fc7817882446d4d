// LAION aesthetic predictor v1: a linear head (w·x + b) trained on top of OpenAI CLIP ViT-B/32 image
// embeddings, giving roughly the 1..10 rating people gave an image. Its weights only make sense for
// that exact embedding space, so it is offered only when the active model is ViT-B/32 (and its
// numbers mean nothing for generated random-weight test models, like every other score).
import fs from 'node:fs';
import type { ModelInfo } from '../../../native-models/types.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';
import { selectTop } from './scoring.ts';
import type { ScoredPhoto } from '../../../common/types.ts';

interface HeadFile {
  architecture: string;
  dim: number;
  weight: number[];
  bias: number;
}

export interface AestheticHead {
  architecture: string;
  dim: number;
  weight: Float32Array;
  bias: number;
}

function loadHead(): AestheticHead {
  // Converted once from sa_0_4_vit_b_32_linear.pth by native-models/tools/convert-laion-head.ts.
  const file = JSON.parse(
    fs.readFileSync(new URL('./data/laion-aesthetic-vit-b-32.json', import.meta.url), 'utf8'),
  ) as HeadFile;
  if (file.weight.length !== file.dim) throw new Error('Corrupt LAION head data: weight length differs from dim.');
  return { architecture: file.architecture, dim: file.dim, weight: Float32Array.from(file.weight), bias: file.bias };
}

export const LAION_HEAD: AestheticHead = loadHead();

/** The head is trained on ViT-B/32 embeddings: any other model's space would give noise. */
export function aestheticAvailable(info: Pick<ModelInfo, 'architecture' | 'dim'>): boolean {
  return info.architecture === LAION_HEAD.architecture && info.dim === LAION_HEAD.dim;
}

/** Score of one embedding, normalised first (as the predictor expects). */
export function aestheticScore(vec: ArrayLike<number>, head: AestheticHead = LAION_HEAD): number {
  if (vec.length !== head.dim) throw new Error(`Embedding has ${vec.length} values; the aesthetic head expects ${head.dim}.`);
  let norm = 0;
  let dot = 0;
  for (let j = 0; j < head.dim; j++) {
    norm += vec[j] * vec[j];
    dot += vec[j] * head.weight[j];
  }
  return dot / Math.sqrt(norm) + head.bias;
}

/** w·x + b for every row of the matrix (rows are already unit length). */
export function aestheticScores(matrix: EmbeddingMatrix, head: AestheticHead = LAION_HEAD): Float32Array {
  if (matrix.dim !== head.dim) throw new Error(`The library's embeddings have ${matrix.dim} values; the aesthetic head expects ${head.dim}.`);
  const out = matrix.dot(head.weight);
  for (let r = 0; r < out.length; r++) out[r] += head.bias;
  return out;
}

/** Photos ranked by LAION aesthetic score (about 1..10), best first; optionally only the top N / allowed ids. */
export function rankByAesthetic(matrix: EmbeddingMatrix, opts: { top?: number; ids?: Iterable<number> } = {}): ScoredPhoto[] {
  const scores = aestheticScores(matrix);
  const allow = opts.ids ? new Set(opts.ids) : null;
  const ids = matrix.ids;
  const cands: number[] = [];
  for (let r = 0; r < matrix.length; r++) if (!Number.isNaN(scores[r]) && (!allow || allow.has(ids[r]))) cands.push(r);
  const k = Math.min(cands.length, opts.top ?? cands.length);
  const rows = selectTop(scores, ids, cands, k);
  const paths = matrix.pathsOf(rows); // only the rows shown: a large library keeps no paths in memory
  return rows.map((r, i) => ({ id: ids[r], path: paths[i], score: scores[r] }));
}
