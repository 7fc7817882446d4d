// @focus, @exposure, @clean: the technical analyzer's scores (indexing/analyzers/technical.ts) as
// signals, each 0…1, higher = better. They are measured from the pixels at 1200 px, not from the
// CLIP embedding: a photo the analyzer has not measured yet (indexed before it existed, until the
// next `cull index` backfills it) has no value (NaN: it ranks nowhere, explain shows no value).
// How often they are right, measured on real photos: docs/judgement.md.
import { technicalOf, technicalScores, type TechnicalScore } from '../../../db/technical.ts';
import type { SignalProvider } from './registry.ts';
import { UNIT_RANGE, type RowScores, type Signal, type SignalContext } from './signal.ts';

export const TECHNICAL_SIGNALS: Record<TechnicalScore, { label: string; description: string }> = {
  focus: {
    label: 'focus (measured)',
    description: 'How sharp the sharpest region is, with motion blur, measured at 1200 px (run cull index to measure new photos).',
  },
  exposure: {
    label: 'exposure (measured)',
    description: 'Well exposed vs clipped highlights, blocked shadows or an unused range, from the pixels.',
  },
  clean: {
    label: 'clean (measured noise)',
    description: 'Sensor noise measured on flat regions: higher = cleaner.',
  },
};

const isTechnical = (name: string): name is TechnicalScore => Object.hasOwn(TECHNICAL_SIGNALS, name);

/** The note for a photo without a value. */
export const NOT_MEASURED = 'not measured yet: run `cull index` on its folder to measure focus, exposure and noise';

class TechnicalSignal implements Signal {
  readonly range = UNIT_RANGE;
  readonly label: string;
  constructor(private readonly score: TechnicalScore) {
    this.label = TECHNICAL_SIGNALS[score].label;
  }

  async scoreRows(ctx: SignalContext): Promise<RowScores> {
    const { matrix } = ctx;
    const values = new Float32Array(matrix.length).fill(NaN);
    for (const [id, v] of technicalScores(ctx.db, this.score)) {
      const r = matrix.indexOf(id);
      if (r >= 0 && v !== null) values[r] = v; // null focus: too little detail to tell
    }
    return { values, approximate: false };
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    const t = technicalOf(ctx.db, ctx.matrix.ids[row]);
    return t?.[this.score] ?? NaN;
  }
}

export const technicalSignals: SignalProvider = {
  match(name) {
    const id = name.trim().toLowerCase();
    return isTechnical(id) ? { signal: id, label: TECHNICAL_SIGNALS[id].label } : null;
  },
  resolve: (name) => new TechnicalSignal(name as TechnicalScore),
  list: () => Object.entries(TECHNICAL_SIGNALS).map(([id, s]) => ({ id, label: s.label, description: s.description })),
};
