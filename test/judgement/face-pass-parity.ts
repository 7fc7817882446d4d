// The face model's full pass on onnxruntime (native-models/face-pass.ts) against Human's full pass on
// TensorFlow.js that it replaced, photo for photo on real data: the bench's 24 MP photos
// (.cache/bench-photos, the first N, default 200) and every photo of ../shared/faces. Each goes
// through the analyzer's decode (working raster); both passes run on every photo (no gate), and
// each face is compared with Human's: the faces found, the stored measures (measureFaces: eye
// state, eyelid openings, box, smile) and the raw geometry (mesh points, angles, scores).
//
//   npx tsx test/judgement/face-pass-parity.ts [--bench N]
//
// Exits 1 if a photo's face count or any face's eye state differs. Names no photo content.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { eyeOpening, measureFaces } from '../../electron/services/indexing/analyzers/face-measures.ts';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { openFaceGate } from '../../native-models/face-gate.ts';
import { openFacePass } from '../../native-models/face-pass.ts';
import { defaultFaceModelDirs, FULL_CONFIDENCE, GATE_CONFIDENCE, IOU_THRESHOLD, MAX_FACES, readVerifiedModelFiles } from '../../native-models/faces.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { openTfjsFaceReference } from '../helpers/tfjs-face-reference.ts';
import { parityPhotos } from './parity-photos.ts';

const { values: args } = parseArgs({ options: { bench: { type: 'string' } } });
const { bench, faces } = parityPhotos(Number(args.bench ?? 200));

const files = readVerifiedModelFiles(defaultFaceModelDirs().models);
const gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: IOU_THRESHOLD });
const pass = await openFacePass(files, gate, FULL_CONFIDENCE);
const ref = await openTfjsFaceReference();
const side = new FacesAnalyzer().needs.working.longSide;

/** Largest |Δ| seen per measure, and where. */
const worst: Record<string, { d: number; at: string }> = {};
const note = (key: string, d: number, at: string) => {
  if (!(d <= (worst[key]?.d ?? -1))) worst[key] = { d, at };
};
const problems: string[] = [];
let facesCompared = 0;
let pointsOff = 0; // mesh points whose x or y differs at all (Human truncates them to whole pixels)
let pointsTotal = 0;
const states = new Map<string, number>();

for (const [set, paths] of [['bench', bench], ['faces', faces]] as const) {
  let photos = 0;
  let withFaces = 0;
  for (const f of paths) {
    if (!fs.existsSync(f)) continue; // (the shared cache may be trimmed by another run meanwhile)
    const name = path.relative(path.dirname(path.dirname(f)), f);
    const d = await decodeImage(f, { working: [side], thumbnail: false });
    const r = d.working[0];
    const scale = Math.max(d.width, d.height) / Math.max(r.width, r.height);
    const mine = await pass.detect(r);
    const theirs = await ref.humanFaces(r);
    photos++;
    if (theirs.length) withFaces++;
    if (mine.length !== theirs.length) {
      problems.push(`${name}: ${mine.length} faces on onnxruntime, Human ${theirs.length} (mesh scores ${mine.map((m) => m.meshScore).join(' ')} / ${theirs.map((m) => m.meshScore).join(' ')})`);
      continue;
    }
    const a = measureFaces(mine, r, scale);
    const b = measureFaces(theirs, r, scale);
    for (let i = 0; i < mine.length; i++) {
      const [m, t] = [mine[i], theirs[i]];
      const at = `${name} face ${i}`;
      facesCompared++;
      note('box (working px)', Math.max(Math.abs(m.box.x - t.box.x), Math.abs(m.box.y - t.box.y), Math.abs(m.box.w - t.box.w), Math.abs(m.box.h - t.box.h)), at);
      note('detector score', Math.abs(m.boxScore - t.boxScore), at);
      note('mesh score', Math.abs(m.meshScore - t.meshScore), at);
      note('smile', Math.abs((m.smile ?? 0) - (t.smile ?? 0)), at);
      note('yaw/pitch/roll (rad)', Math.max(Math.abs(m.yaw - t.yaw), Math.abs(m.pitch - t.pitch), Math.abs(m.roll - t.roll)), at);
      let meshWorst = 0;
      for (let k = 0; k < t.mesh.length; k++) {
        const dd = Math.max(Math.abs(m.mesh[k][0] - t.mesh[k][0]), Math.abs(m.mesh[k][1] - t.mesh[k][1]));
        meshWorst = Math.max(meshWorst, dd);
        if (dd > 0) pointsOff++;
        pointsTotal++;
      }
      note('mesh point x/y (working px)', meshWorst, at);
      for (const eye of ['left', 'right'] as const) note('eyelid opening, unrounded', Math.abs((eyeOpening(m.mesh, eye) ?? 0) - (eyeOpening(t.mesh, eye) ?? 0)), at);
      if (m.mesh.length !== t.mesh.length) problems.push(`${at}: ${m.mesh.length} mesh points, Human ${t.mesh.length}`);
    }
    for (let i = 0; i < a.length; i++) {
      const [m, t] = [a[i], b[i]];
      const at = `${name} face ${m.index}`;
      states.set(t.eyes.state, (states.get(t.eyes.state) ?? 0) + 1);
      if (m.eyes.state !== t.eyes.state || m.eyes.reason !== t.eyes.reason) {
        problems.push(`${at}: eyes ${m.eyes.state} (${m.eyes.reason ?? ''}), Human ${t.eyes.state} (${t.eyes.reason ?? ''}); openings ${m.eyes.left}/${m.eyes.right} vs ${t.eyes.left}/${t.eyes.right}`);
      }
      note('stored eyelid opening', Math.max(Math.abs((m.eyes.left ?? 0) - (t.eyes.left ?? 0)), Math.abs((m.eyes.right ?? 0) - (t.eyes.right ?? 0))), at);
      note('stored smile', Math.abs((m.smile ?? 0) - (t.smile ?? 0)), at);
      note('stored box (fraction of the photo)', Math.max(Math.abs(m.box.x - t.box.x), Math.abs(m.box.y - t.box.y), Math.abs(m.box.w - t.box.w), Math.abs(m.box.h - t.box.h)), at);
      note('stored face sharpness', Math.abs((m.sharpness ?? 0) - (t.sharpness ?? 0)), at);
    }
    console.error(`${name}: ${mine.length} faces (Human ${theirs.length}); eyes ${a.map((x) => x.eyes.state).join(' ') || '-'}`);
  }
  console.log(`${set}: ${photos} photos, ${withFaces} where Human keeps a face`);
}
console.log(`faces compared: ${facesCompared} (Human's eye states: ${[...states].map(([k, v]) => `${k} ${v}`).join(', ')})`);
console.log(`mesh points differing at all: ${pointsOff} of ${pointsTotal} (${((100 * pointsOff) / Math.max(1, pointsTotal)).toFixed(2)} %)`);
for (const [k, v] of Object.entries(worst)) console.log(`max |Δ| ${k}: ${Number(v.d.toPrecision(3))}  (${v.at})`);
console.log(`differences in faces found or eye state: ${problems.length}${problems.length ? '\n' + problems.join('\n') : ''}`);
await pass.release();
await gate.release();
process.exit(problems.length ? 1 : 0);
