// The technical analyzer: focus (a 16 × 16 focus map, the sharpest region, motion blur), exposure
// (clipped highlights and blocked shadows per channel, mean and median luminance) and sensor noise,
// measured on a working-size raster from the indexer's one decode. The maths, and how each measure
// becomes a 0…1 score, is in ./technical-measures.ts; the table in db/technical.ts; the signals
// (@focus, @exposure, @clean) in signals/technical.ts; how often they are right in docs/judgement.md.
//
// Working size: 1500 px on the long side. Measured (docs/judgement.md, "Working size"): at 1024 px
// a σ = 1 working-pixel blur of a 24 MP frame (σ ≈ 4 px at 100 %) is missed more often, while
// 2048 px costs a larger JPEG shrink-on-load step (a 6000 px JPEG decodes at 1/2 instead of 1/4
// scale) and about twice the analysis time for little gain; 1500 px decodes at the same 1/4 scale
// the CLIP/thumbnail intermediate is cut from, so the raster adds almost nothing to the decode.
import type { DB } from '../../../../db/database.ts';
import { ensureTechnicalSchema, storeTechnical } from '../../../../db/technical.ts';
import type { Analyzer, AnalyzerInput } from './analyzer.ts';
import { measureTechnical, type TechnicalMeasures } from './technical-measures.ts';

export const TECHNICAL_WORKING_SIDE = 1500;

export class TechnicalAnalyzer implements Analyzer<TechnicalMeasures> {
  readonly id = 'technical';
  readonly label = 'Focus & exposure';
  /** Raise when a measure or its mapping to 0…1 changes. */
  readonly version = 1;
  readonly needs: { working: { longSide: number } };
  readonly batchSize = 8;

  constructor(longSide = TECHNICAL_WORKING_SIDE) {
    this.needs = { working: { longSide } };
  }

  ensureSchema(db: DB): void {
    ensureTechnicalSchema(db);
  }

  async analyze(batch: AnalyzerInput[]): Promise<TechnicalMeasures[]> {
    const out: TechnicalMeasures[] = [];
    for (const input of batch) {
      if (!input.working) throw new Error(`technical analyzer: no working raster for ${input.path}`);
      out.push(measureTechnical(input.working));
      // One photo is ~tens of ms of plain JS: let the decodes and the CLIP batch's callbacks run between photos.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  store(db: DB, results: { photoId: number; result: TechnicalMeasures }[]): void {
    storeTechnical(
      db,
      results.map(({ photoId, result: m }) => ({
        photoId,
        row: {
          focus: m.focus,
          exposure: m.exposure,
          clean: m.clean,
          sharpness: m.sharpness,
          motion: m.motion,
          noise_sigma: m.noiseSigma,
          clipped_r: m.clippedHigh[0],
          clipped_g: m.clippedHigh[1],
          clipped_b: m.clippedHigh[2],
          blocked_r: m.blockedLow[0],
          blocked_g: m.blockedLow[1],
          blocked_b: m.blockedLow[2],
          luma_mean: m.lumaMean,
          luma_median: m.lumaMedian,
          width: m.width,
          height: m.height,
          focusMap: m.focusMap,
        },
      })),
      this.version,
    );
  }
}
