// The ONNX face gate against the TensorFlow.js one it replaced, photo for photo on real data: the
// bench's 24 MP photos (.cache/bench-photos) and every photo of ../shared/faces (open, closed,
// hard). Each goes through the analyzer's decode (working raster) and the gate's 320 px copy
// exactly as indexing does; then BlazeFace's best score on onnxruntime vs tfjs (max |Δ|) and the
// verdicts — the ONNX gate's `passes` against Human's own detector pass with the gate settings.
//
//   npx tsx test/judgement/face-gate-parity.ts [--bench N]     (N: how many bench photos, default all)
//
// Exits 1 if any verdict differs. Names no photo content; copies nothing.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { openFaceGate } from '../../native-models/face-gate.ts';
import { defaultFaceModelDirs, downscale, GATE_CONFIDENCE, GATE_SIDE, MAX_FACES, readVerifiedModelFiles } from '../../native-models/faces.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { openTfjsFaceReference } from '../helpers/tfjs-face-reference.ts';
import { parityPhotos } from './parity-photos.ts';

const { values: args } = parseArgs({ options: { bench: { type: 'string' } } });
const { bench, faces } = parityPhotos(args.bench ? Number(args.bench) : undefined);

const files = readVerifiedModelFiles(defaultFaceModelDirs().models);
const gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: 0.1 });
const ref = await openTfjsFaceReference();
const side = new FacesAnalyzer().needs.working.longSide;
const sigmoidMax = (logits: Float32Array[]) => Math.max(...logits.flatMap((l) => Array.from(l, (x) => 1 / (1 + Math.exp(-x)))));

let worst = 0;
const differ: string[] = [];
for (const [set, paths] of [['bench', bench], ['faces', faces]] as const) {
  let passed = 0;
  let setWorst = 0;
  for (const f of paths) {
    const d = await decodeImage(f, { working: [side], thumbnail: false });
    const r = d.working[0];
    const small = Math.max(r.width, r.height) > GATE_SIDE ? await downscale(r, GATE_SIDE) : r; // (faces.ts gates only the first kind)
    const onnx = await gate.check(small);
    const [c384, c512] = await ref.blazeFace(small);
    const tfScore = sigmoidMax([c384, c512]);
    const tfPasses = await ref.humanGate(small);
    const delta = Math.abs(onnx.maxScore - tfScore);
    setWorst = Math.max(setWorst, delta);
    if (onnx.passes) passed++;
    const line = `${path.relative(path.dirname(path.dirname(f)), f)}: max score onnx ${onnx.maxScore.toFixed(6)} tfjs ${tfScore.toFixed(6)} |Δ| ${delta.toExponential(1)}; passes onnx ${onnx.passes} human ${tfPasses}`;
    if (onnx.passes !== tfPasses) differ.push(line);
    console.error(line);
  }
  worst = Math.max(worst, setWorst);
  console.log(`${set}: ${paths.length} photos, ${passed} pass the gate, max |Δ| of the best score ${setWorst.toExponential(2)}`);
}
console.log(`verdicts differing: ${differ.length}${differ.length ? '\n' + differ.join('\n') : ''}`);
console.log(`max |Δ| overall ${worst.toExponential(2)}`);
await gate.release();
process.exit(differ.length ? 1 : 0);
