// The technical analyzer's fast loops (technical-kernels.ts, and the WebAssembly SIMD kernels of
// technical-simd.ts with their JavaScript fallback) give the same measures, bit for bit, as the
// straightforward implementation they replaced (test/helpers/technical-reference.ts, the analyzer
// as of version 2 before the kernels): generated scenes and their degraded copies through the
// indexer's decode, odd sizes (a width not a multiple of 4, an odd count of sampled columns), tiny
// rasters, and the real photos of ../shared/photos/sample-shoot when present.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage, type Raster } from '../native-models/preprocess.ts';
import { measureTechnical, windowSharpness, type TechnicalMeasures } from '../electron/services/indexing/analyzers/technical-measures.ts';
import { disableTechnicalSimd, lumaPlane, technicalSimd } from '../electron/services/indexing/analyzers/technical-simd.ts';
import { luminance } from '../electron/services/indexing/analyzers/analyzer.ts';
import * as reference from './helpers/technical-reference.ts';
import { degrade, loadRaw, VARIANTS } from './judgement/technical-judge.ts';
import { scene } from './helpers/technical-scenes.ts';
import { REPO_DIR } from './helpers/fixtures.ts';

const SHOOT = path.resolve(REPO_DIR, '../shared/photos/sample-shoot');

/** Every field, numbers compared with Object.is (NaN equals NaN, 0 and −0 differ), the focus map element by element. */
function differences(a: TechnicalMeasures, b: TechnicalMeasures): string[] {
  const out: string[] = [];
  for (const key of Object.keys(b) as (keyof TechnicalMeasures)[]) {
    const x = a[key] as unknown;
    const y = b[key] as unknown;
    if (typeof y === 'number') {
      if (!Object.is(x, y)) out.push(`${key}: ${x} vs ${y}`);
    } else {
      const xs = Array.from(x as ArrayLike<number>);
      const ys = Array.from(y as ArrayLike<number>);
      const at = ys.findIndex((v, i) => !Object.is(xs[i], v));
      if (xs.length !== ys.length || at >= 0) out.push(`${key}[${at}]: ${xs[at]} vs ${ys[at]}`);
    }
  }
  return out;
}

/** Both paths (SIMD kernels, JavaScript) against the reference. */
function expectSame(name: string, r: Raster): void {
  const want = reference.measureTechnical(r);
  for (const js of [false, true]) {
    disableTechnicalSimd(js);
    expect(differences(measureTechnical(r), want), `${name} (${js ? 'JavaScript' : 'SIMD'})`).toEqual([]);
  }
  disableTechnicalSimd(false);
}

async function working(file: Buffer | string, side = 1200): Promise<Raster> {
  return (await decodeImage(file, { working: [side], thumbnail: false })).working[0];
}

const raw = (w: number, h: number, f: (x: number, y: number, c: number) => number): Raster => {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { data, width: w, height: h, channels: 3 };
};

describe('technical kernels: the same measures as the reference implementation', () => {
  afterAll(() => disableTechnicalSimd(false));

  it('this Node has WebAssembly SIMD, so the kernels are what the rest of the test checks', () => {
    expect(technicalSimd()).toBe(true);
  });

  it('the luminance plane: SIMD and JavaScript give analyzer.ts luminance() bit for bit (n not a multiple of 4)', () => {
    const r = raw(37, 23, (x, y, c) => (x * 31 + y * 17 + c * 101 + ((x * y) % 7) * 29) % 256);
    const want = luminance(r);
    for (const js of [false, true]) {
      disableTechnicalSimd(js);
      const L = lumaPlane(r.data, r.width, r.height);
      expect(L.length).toBe(want.length);
      expect(Array.from(L).findIndex((v, i) => !Object.is(v, want[i])), js ? 'JavaScript' : 'SIMD').toBe(-1);
    }
    disableTechnicalSimd(false);
  });

  it('generated scenes and their degraded copies, decoded as the indexer does', async () => {
    const labels = ['original', 'blur σ2', 'motion 9 px ↘', 'noise σ8', '−2 EV', '+2 EV'];
    for (const [seed, w, h] of [[1, 960, 640], [2, 1201, 797], [3, 803, 1203]] as const) {
      const img = scene(seed, w, h);
      for (const v of VARIANTS.filter((v) => labels.includes(v.label))) expectSame(`scene ${seed} ${w}×${h} ${v.label}`, await working(await degrade(img, v)));
    }
  }, 120_000);

  it('odd and tiny sizes, flat and clipped frames', () => {
    const rnd = (x: number, y: number, c: number) => (Math.imul(x * 7919 + y * 104729 + c * 31, 2654435761) >>> 24) & 255;
    for (const [w, h] of [[1, 1], [2, 2], [3, 3], [5, 4], [17, 3], [3, 40], [30, 31], [65, 47], [129, 33]]) expectSame(`noise ${w}×${h}`, raw(w, h, rnd));
    expectSame('flat grey', raw(64, 48, () => 128));
    expectSame('black', raw(64, 48, () => 0));
    expectSame('white', raw(64, 48, () => 255));
    expectSame('stripes', raw(121, 80, (x) => (x % 6 < 3 ? 20 : 230)));
  });

  it('windowSharpness (the faces analyzer’s eye regions) in every direction', async () => {
    const r = await working(await degrade(scene(4), VARIANTS[0]));
    const L = luminance(r);
    for (const [x0, y0, x1, y1] of [[0, 0, r.width, r.height], [100, 300, 180, 360], [5, 400, 14, 500], [700, 500, 960, 640], [200, 200, 200, 260]]) {
      expect(Object.is(windowSharpness(L, r.width, x0, y0, x1, y1), reference.windowSharpness(L, r.width, x0, y0, x1, y1)), `${x0},${y0}–${x1},${y1}`).toBe(true);
    }
  });

  it.skipIf(!fs.existsSync(SHOOT))('the real photos of ../shared/photos/sample-shoot (skipped without ../shared)', async () => {
    const files = fs.readdirSync(SHOOT).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, 8);
    for (const f of files) {
      const img = await loadRaw(f, path.join(SHOOT, f));
      expectSame(f, await working(await degrade(img, VARIANTS[0])));
    }
  }, 120_000);
});
