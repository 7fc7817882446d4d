// The mesh check (native-models/face-mesh-check.ts) against Human's full pass, photo for photo on
// real data: the bench's 24 MP photos (.cache/bench-photos, the first N, default 200) and every
// photo of ../shared/faces. Each goes through the analyzer's decode (working raster) and the gate's
// 320 px copy as indexing does. For each photo: does the gate pass it, does the mesh check pass it
// (with the analyzer's margin, and with none), how many faces Human's full pass (tfjs, no gate)
// keeps, and how far the check's face crops are from tfjs's (rotateWithOffset + cropAndResize).
//
//   npx tsx test/judgement/face-mesh-check-parity.ts [--bench N]
//
// Exits 1 if the check stops a photo where Human keeps a face (a miss). Names no photo content.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { openFaceGate } from '../../native-models/face-gate.ts';
import { faceAngle, humanFaceCrop, MESH_SIZE, openFaceMeshCheck } from '../../native-models/face-mesh-check.ts';
import {
  defaultFaceModelDirs, downscale, FULL_CONFIDENCE, GATE_CONFIDENCE, GATE_SIDE, MAX_FACES, MESH_MARGIN, readVerifiedModelFiles,
} from '../../native-models/faces.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { openTfjsFaceReference } from '../helpers/tfjs-face-reference.ts';
import { parityPhotos } from './parity-photos.ts';

const { values: args } = parseArgs({ options: { bench: { type: 'string' } } });
const { bench, faces } = parityPhotos(Number(args.bench ?? 200));

const files = readVerifiedModelFiles(defaultFaceModelDirs().models);
const gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: 0.1 });
const check = await openFaceMeshCheck(files, gate, { minConfidence: FULL_CONFIDENCE, margin: MESH_MARGIN });
const exact = await openFaceMeshCheck(files, gate, { minConfidence: FULL_CONFIDENCE, margin: 0 });
const ref = await openTfjsFaceReference();
const side = new FacesAnalyzer().needs.working.longSide;

let misses = 0;
let exactDiffers = 0;
let cropWorst = 0;
for (const [set, paths] of [['bench', bench], ['faces', faces]] as const) {
  const n = { gate: 0, human: 0, humanGated: 0, check: 0, checkGated: 0, stopped: 0, boxes: 0 };
  const noFaceBest: number[] = []; // the check's best mesh score where Human keeps no face (gate passed)
  const faceBest: number[] = []; // … and where it keeps one
  for (const f of paths) {
    if (!fs.existsSync(f)) continue; // (the shared cache may be trimmed by another run meanwhile)
    const r = (await decodeImage(f, { working: [side], thumbnail: false })).working[0];
    const small = Math.max(r.width, r.height) > GATE_SIDE ? await downscale(r, GATE_SIDE) : r;
    const gated = (await gate.check(small)).passes;
    const got = await check.check(r);
    const gotExact = await exact.check(r);
    const human = await ref.humanFull(r);
    const best = Math.max(0, ...got.scores);
    for (const b of await gate.boxes(r, FULL_CONFIDENCE - MESH_MARGIN)) {
      const mine = humanFaceCrop(r, b, new Float32Array(MESH_SIZE * MESH_SIZE * 3));
      const theirs = await ref.faceCrop(r, b, faceAngle(b));
      for (let i = 0; i < mine.length; i++) cropWorst = Math.max(cropWorst, Math.abs(mine[i] - theirs[i]));
      n.boxes++;
    }
    if (gated) n.gate++;
    if (human.length) n.human++;
    if (got.passes) n.check++;
    if (gated && human.length) n.humanGated++;
    if (gated && got.passes) n.checkGated++;
    if (gated && !got.passes) n.stopped++;
    if (gated) (human.length ? faceBest : noFaceBest).push(best);
    const miss = human.length > 0 && !got.passes;
    if (miss) misses++;
    if (gotExact.passes !== human.length > 0) exactDiffers++;
    console.error(`${path.relative(path.dirname(path.dirname(f)), f)}: gate ${gated}; check ${got.passes} (mesh ${got.scores.map((s) => s.toFixed(3)).join(' ') || '-'}); `
      + `exact ${gotExact.passes}; Human keeps ${human.length} (mesh ${human.map((h) => h.faceScore).join(' ') || '-'})${miss ? '  MISS' : ''}`);
  }
  const fmt = (a: number[]) => (a.length ? `${Math.min(...a).toFixed(3)}–${Math.max(...a).toFixed(3)}` : '-');
  console.log(`${set}: ${paths.length} photos; gate passes ${n.gate}; Human keeps a face in ${n.human} (${n.humanGated} of them gated); `
    + `check passes ${n.check} (${n.checkGated} gated); gated photos the check stops ${n.stopped}; `
    + `best mesh score where gated: no face ${fmt(noFaceBest)}, face ${fmt(faceBest)}; ${n.boxes} boxes cropped`);
}
console.log(`misses (Human keeps a face, the check stops the photo): ${misses}`);
console.log(`photos where the check without margin disagrees with Human: ${exactDiffers}`);
console.log(`face crops: max |Δ| against tfjs ${cropWorst.toExponential(2)}`);
await Promise.all([check.release(), exact.release(), gate.release()]);
process.exit(misses ? 1 : 0);
