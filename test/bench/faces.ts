// What the faces analyzer costs per photo (issue 11): CPU ms of this process (process.cpuUsage:
// the face model's onnxruntime sessions run in this process) for
// FacesAnalyzer.analyze on the indexer's working raster — the raster itself is shared with the
// technical analyzer and counted in technical_ms_per_photo. Two sets:
//   without faces: the bench's 24 MP photos (the gate's BlazeFace on a 320 px copy; where it finds
//                  a face, the full pass's detector and mesh, and its iris and emotion models only
//                  where the mesh keeps a face);
//   with faces:    the full photos of ../shared/faces (open/ and closed/, not the tight crops; one
//                  to nine faces each), skipped when ../shared is absent.
// Part of `npm run bench` (run.ts, step 2c); alone: npx tsx test/bench/faces.ts [photos]
import fs from 'node:fs';
import path from 'node:path';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { log, median, ROOT, round } from './util.ts';

export const SHARED_FACES = path.resolve(ROOT, '../shared/faces');

export interface FacesCost {
  /** Median CPU ms per photo, photos without faces (24 MP bench photos). */
  noFacesMsPerPhoto: number;
  /** Mean CPU ms per photo without faces: what indexing pays (a frame that passes the gate costs the full pass). */
  noFacesMeanMsPerPhoto: number;
  noFacesPhotos: number;
  /** Faces found in the "without faces" set (a real shoot may have some). */
  facesFoundInNoFaces: number;
  /** Median CPU ms per photo with faces (null without ../shared/faces). */
  withFacesMsPerPhoto: number | null;
  withFacesPhotos: number;
  facesPerPhoto: number | null;
  /** CPU ms per face beyond the detection (a least-squares slope over the with-faces set). */
  msPerFace: number | null;
  modelLoadMs: number;
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};

/** The full photos (not the tight CEW/UTK crops) of ../shared/faces open/ and closed/. */
export function facePhotos(dir = SHARED_FACES): string[] {
  if (!fs.existsSync(dir)) return [];
  return ['open', 'closed'].flatMap((label) =>
    fs.readdirSync(path.join(dir, label)).filter((f) => !/^(cew|utk)_tier2__/.test(f)).sort().map((f) => path.join(dir, label, f)),
  );
}

async function run(analyzer: FacesAnalyzer, files: string[]): Promise<{ ms: number[]; faces: number[] }> {
  const ms: number[] = [];
  const faces: number[] = [];
  for (const f of files) {
    const d = await decodeImage(f, { working: [analyzer.needs.working.longSide], thumbnail: false });
    const t = process.cpuUsage();
    const [found] = await analyzer.analyze([{ path: f, width: d.width, height: d.height, working: d.working[0] }]);
    ms.push(cpuMs(t));
    faces.push(found.length);
  }
  return { ms, faces };
}

export async function measureFacesCost(noFaceFiles: string[], faceFiles = facePhotos()): Promise<FacesCost> {
  const analyzer = new FacesAnalyzer();
  const t = process.cpuUsage();
  await run(analyzer, noFaceFiles.slice(0, 1)); // model load + first inference (warm-up), not counted
  const modelLoadMs = cpuMs(t);
  const none = await run(analyzer, noFaceFiles);
  const withFaces = faceFiles.length ? await run(analyzer, faceFiles) : null;
  let msPerFace: number | null = null;
  if (withFaces) {
    const n = withFaces.ms.length;
    const mx = withFaces.faces.reduce((a, b) => a + b, 0) / n;
    const my = withFaces.ms.reduce((a, b) => a + b, 0) / n;
    let sxy = 0;
    let sxx = 0;
    withFaces.faces.forEach((x, i) => ((sxy += (x - mx) * (withFaces.ms[i] - my)), (sxx += (x - mx) ** 2)));
    msPerFace = sxx > 0 ? round(sxy / sxx, 1) : null;
  }
  return {
    noFacesMsPerPhoto: round(median(none.ms), 1),
    noFacesMeanMsPerPhoto: round(none.ms.reduce((a, b) => a + b, 0) / none.ms.length, 1),
    noFacesPhotos: none.ms.length,
    facesFoundInNoFaces: none.faces.reduce((a, b) => a + b, 0),
    withFacesMsPerPhoto: withFaces ? round(median(withFaces.ms), 1) : null,
    withFacesPhotos: withFaces?.ms.length ?? 0,
    facesPerPhoto: withFaces ? round(withFaces.faces.reduce((a, b) => a + b, 0) / withFaces.faces.length, 1) : null,
    msPerFace,
    modelLoadMs: round(modelLoadMs, 0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ensureBenchPhotos } = await import('./photos.ts');
  const n = Number(process.argv[2] ?? 8);
  const set = await ensureBenchPhotos(n);
  log(`faces: ${n} × 24 MP photos from ${set.source}, and ${facePhotos().length} photos with faces from ../shared/faces…`);
  console.log(JSON.stringify(await measureFacesCost(set.files.slice(0, n))));
}
