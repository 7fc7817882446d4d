// LAION aesthetic predictor v1: a linear head (w·x + b) trained on top of OpenAI CLIP ViT-B/32 image
// embeddings, giving roughly the 1..10 rating people gave an image. Its weights only make sense for
// that exact embedding space, so it is offered only when the active model is ViT-B/32 (and its
// numbers mean nothing for generated random-weight test models, like every other score).
import fs from 'node:fs';
import type { ModelInfo } from '../../../native-models/types.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';
import { UserError } from '../../../common/errors.ts';
import type { SignalProvider } from './registry.ts';
import type { RowScores, Signal, SignalContext } from './signal.ts';

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

/** "@laion": the head as a signal, on its own ~1…10 scale (mapped onto 0…1 in combinations). */
class AestheticSignal implements Signal {
  readonly label = 'LAION aesthetic (1–10)';
  readonly range = [1, 10] as const;

  async scoreRows(ctx: SignalContext): Promise<RowScores> {
    const values = aestheticScores(ctx.matrix);
    const dim = LAION_HEAD.dim;
    return {
      values,
      approximate: ctx.matrix.approximate,
      exact: (rows, x) => Float32Array.from(rows, (_r, k) => aestheticScore(x.subarray(k * dim, (k + 1) * dim))),
    };
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    return aestheticScore(ctx.matrix.row(row));
  }
}

export const AESTHETIC_ID = 'laion';

export const aestheticSignals: SignalProvider = {
  match: (name) => (name.trim().toLowerCase() === AESTHETIC_ID ? { signal: AESTHETIC_ID, label: 'LAION aesthetic (1–10)' } : null),
  resolve(_name, ctx) {
    const info = ctx.model.info;
    if (!aestheticAvailable(info)) {
      throw new UserError(`The LAION aesthetic score needs the ViT-B/32 model; ${info.name} is ${info.architecture ?? 'another architecture'}.`);
    }
    return new AestheticSignal();
  },
  list: (ctx) =>
    aestheticAvailable(ctx.model.info)
      ? [{ id: AESTHETIC_ID, label: 'LAION aesthetic score', description: 'Linear aesthetic predictor (LAION, ViT-B/32 only), about 1–10.' }]
      : [],
};
