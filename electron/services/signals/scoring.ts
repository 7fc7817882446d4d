// Scoring a library: a query's terms become signals (typed pairs directly, "@names" through the
// registry) and go through the one ranking function (rank.ts). The facade and the groups use this;
// nothing else decides what a term means or how terms combine.
import { UserError } from '../../../common/errors.ts';
import type { TopLimit } from '../../../common/top.ts';
import type { AttributeQuery, PhotoFilter, QueryTerm, ScoredPhoto } from '../../../common/types.ts';
import { ClipAttributeSignal, TextMatchSignal } from './clip-attribute.ts';
import { combine, rank, type WeightedSignal } from './rank.ts';
import { resolveSignal } from './registry.ts';
import { photosNamed } from '../../../db/library-queries.ts';
import type { SignalContext } from './signal.ts';

export { clipIqaScore, poleDirection } from './clip-attribute.ts';
export { selectTop } from './rank.ts';

export interface ScoreOptions extends TopLimit {
  /** Threshold on the combined score; defaults to the query's minScore. */
  minScore?: number;
  /** Only these photo ids (an allow-list, e.g. from a PhotoFilter). */
  ids?: Iterable<number>;
  /** Resolved to ids through `filterIds`. */
  filter?: PhotoFilter;
  /** false: leave `path` empty (the window has its photo records). */
  paths?: boolean;
}

/** Text that may be a file name or a frame number: one word with a digit ("IMG_5102", "5102", "dsc_0042.nef"). */
const NAME_LIKE = /^(?=[^\s]*\d)[\w.-]{2,64}$/;

export interface ScorerDeps extends SignalContext {
  /** Photo ids matching a PhotoFilter (the photo queries live in db/photos.ts). */
  filterIds?: (filter: PhotoFilter) => Iterable<number>;
}

export class Scorer {
  constructor(private readonly deps: ScorerDeps) {
    // Text directions of one model against another model's image space would be silent nonsense.
    if (deps.matrix.modelId !== deps.model.info.id) {
      throw new Error(`The embedding matrix is for model ${deps.matrix.modelId}, not the active model ${deps.model.info.id}.`);
    }
  }

  /** One term as a weighted signal. */
  signal(term: QueryTerm): WeightedSignal {
    const signal = 'signal' in term ? resolveSignal(term.signal, this.deps) : new ClipAttributeSignal(term);
    return { signal, weight: term.weight ?? 1, label: term.label };
  }

  private signals(query: AttributeQuery): WeightedSignal[] {
    if (!query.attributes.length) throw new UserError('The query has no attributes.');
    return query.attributes.map((t) => this.signal(t));
  }

  /** Rows allowed by the options' ids / filter (null = every row). */
  private allowed(opts: ScoreOptions): Set<number> | null {
    let set: Set<number> | null = opts.ids ? new Set(opts.ids) : null;
    if (opts.filter) {
      if (!this.deps.filterIds) throw new Error('This scorer cannot apply photo filters (no filterIds given).');
      const f = new Set(this.deps.filterIds(opts.filter));
      set = set ? new Set([...set].filter((id) => f.has(id))) : f;
    }
    return set;
  }

  /** Photos ranked by the query's combined score (descending, ties by id), with per-term parts. */
  async score(query: AttributeQuery, opts: ScoreOptions = {}): Promise<ScoredPhoto[]> {
    const terms = this.signals(query);
    const minScore = opts.minScore ?? query.minScore;
    // One term ranks on its own scale (LAION ~1…10); a combination on 0…1.
    const [lo, hi] = terms.length === 1 ? terms[0].signal.range : [0, 1];
    if (minScore !== undefined && !(minScore >= lo && minScore <= hi)) throw new UserError(`minScore must be between ${lo} and ${hi}.`);
    return rank(this.deps, terms, { ...opts, minScore, allow: this.allowed(opts) });
  }

  /** Every matrix row's score (exact): per term, and combined. */
  async scoreAll(query: AttributeQuery): Promise<{ combined: Float32Array; parts: { label: string; scores: Float32Array }[] }> {
    const c = await combine(this.deps, this.signals(query), false);
    return { combined: c.combined, parts: c.parts.map((p) => ({ label: p.label, scores: p.values })) };
  }

  /**
   * Text search: photos whose file name matches a frame number or name typed ("IMG_5102",
   * "5102") first (score 1, the top of the cosine scale), then the cosine of each photo to the text
   * as typed, best first (default top 100 in all).
   */
  async search(text: string, opts: ScoreOptions = {}): Promise<ScoredPhoto[]> {
    const allow = this.allowed(opts);
    const named = NAME_LIKE.test(text.trim())
      ? photosNamed(this.deps.db, text.trim()).filter((p) => this.deps.matrix.indexOf(p.id) >= 0 && (!allow || allow.has(p.id)))
      : [];
    const signal = new TextMatchSignal(text);
    const rows = await rank(this.deps, [{ signal, weight: 1 }], { ...opts, top: opts.top ?? 100, minScore: undefined, allow });
    const first = new Set(named.map((p) => p.id));
    const paths = opts.paths !== false;
    const out = [...named.map(({ id, path }) => ({ id, path: paths ? path : '', score: 1 })), ...rows.filter((r) => !first.has(r.id)).map(({ id, path, score }) => ({ id, path, score }))];
    return out.slice(0, Math.max(named.length, rows.length));
  }

  /** Per-term scores of one photo (no pass over the library). */
  async explain(photoId: number, query: AttributeQuery | QueryTerm[]): Promise<Record<string, number>> {
    const { matrix } = this.deps;
    const r = matrix.indexOf(photoId);
    if (r < 0) throw new UserError(`Photo ${photoId} has no embedding for this model (not indexed yet, missing or failed).`, 'not-found');
    const out: Record<string, number> = {};
    for (const term of Array.isArray(query) ? query : query.attributes) {
      const { signal, label } = this.signal(term);
      out[label ?? signal.label] = await signal.scoreRow(this.deps, r);
    }
    return out;
  }
}
