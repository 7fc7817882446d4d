// The faces analyzer: faces, eye states and face focus (face-measures.ts) from the face model
// (native-models/faces.ts), on the same working raster as the technical analyzer (1200 px long
// side: one decode serves both). BlazeFace first looks at a small copy of the frame (it sees
// 256 × 256 anyway: native-models/face-gate.ts); only a frame where it finds a face gets the full
// pass, whose face mesh, iris and emotion models crop each face from the working raster
// (native-models/face-pass.ts). At most MAX_FACES faces per photo (the largest); a photo with none is
// recorded as analysed in the ledger and has no row. Table: db/faces.ts; signals @eyes-open and
// @face-focus: signals/faces.ts; measured accuracy: docs/judgement.md ("Faces"); cost: docs/performance.md.
//
// The model is opened by prepare(), which the indexer starts with a run that has photos for it (so
// it loads while the first photos decode), or else on the first photo; a damaged or changed model
// file fails the run with a message naming it. Its onnxruntime sessions run one thread each, in
// this process: on 2 cores the CLIP encoder's threads have the other core.
import type { DB } from '../../../../db/database.ts';
import { ensureFacesSchema, storeFaces, type FaceRow } from '../../../../db/faces.ts';
import { openFaceModel, type FaceModel } from '../../../../native-models/faces.ts';
import type { Analyzer, AnalyzerInput } from './analyzer.ts';
import { measureFaces } from './face-measures.ts';
import { TECHNICAL_WORKING_SIDE } from './technical.ts';

export class FacesAnalyzer implements Analyzer<FaceRow[]> {
  readonly id = 'faces';
  readonly label = 'Faces';
  /**
   * Raise when the model, the eye rule or a stored measure changes (a library analysed by an older
   * version gets this one by the ledger's backfill). 2: the smile estimate and "eyes covered".
   * 3: shut lids with no lash line to be seen are "can't tell" (a hand over the eyes). 4: the lash
   * line is looked for at the lids, on both eyes (lenses that reflect, fingers).
   */
  readonly version = 4;
  readonly needs: { working: { longSide: number } };
  readonly batchSize = 8;
  private model: Promise<FaceModel> | null = null;

  constructor(
    longSide = TECHNICAL_WORKING_SIDE,
    private readonly open: () => Promise<FaceModel> = () => openFaceModel(),
  ) {
    this.needs = { working: { longSide } };
  }

  ensureSchema(db: DB): void {
    ensureFacesSchema(db);
  }

  /** The model, opened once (a failed open is tried again by the next call, which reports it again). */
  private loaded(): Promise<FaceModel> {
    if (!this.model) {
      this.model = this.open();
      this.model.catch(() => (this.model = null));
    }
    return this.model;
  }

  async prepare(): Promise<void> {
    await this.loaded();
  }

  async analyze(batch: AnalyzerInput[]): Promise<FaceRow[][]> {
    const model = await this.loaded();
    const out: FaceRow[][] = [];
    for (const input of batch) {
      const r = input.working;
      if (!r) throw new Error(`faces analyzer: no working raster for ${input.path}`);
      const raw = r.width < 16 || r.height < 16 ? [] : await model.detect(r); // too small to hold a face
      out.push(measureFaces(raw, r, Math.max(input.width, input.height) / Math.max(r.width, r.height)));
    }
    return out;
  }

  store(db: DB, results: { photoId: number; result: FaceRow[] }[]): void {
    storeFaces(db, results.map(({ photoId, result }) => ({ photoId, faces: result })), this.version);
  }
}
