import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAION_HEAD, aestheticAvailable, aestheticScore, aestheticScores, aestheticSignals } from '../electron/services/signals/aesthetic.ts';
import { rank } from '../electron/services/signals/rank.ts';
import type { SignalContext } from '../electron/services/signals/signal.ts';
import { EmbeddingMatrix } from '../electron/services/matrix/embedding-matrix.ts';
import { float32Text, readLinearHead, readZip } from '../native-models/tools/convert-laion-head.ts';

const SHARED = path.resolve(__dirname, '../../shared');
const HEADS = path.join(SHARED, 'aesthetic-heads');
const DATA = path.resolve(__dirname, '../electron/services/signals/data/laion-aesthetic-vit-b-32.json');

/** A .npy file of float32: magic, version, header length, a Python-dict header, then the data. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file} is not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: only little-endian float32 is supported (${header})`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(start + 4 * i);
  return { shape, data };
}

function ranks(v: number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(v.length);
  order.forEach(([, i], k) => (r[i] = k + 1));
  return r;
}

function spearman(a: number[], b: number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

describe('LAION aesthetic head (committed JSON)', () => {
  it('has 512 weights and a bias, for ViT-B/32 only', () => {
    const json = JSON.parse(fs.readFileSync(DATA, 'utf8'));
    expect(json.weight).toHaveLength(512);
    expect(json.dim).toBe(512);
    expect(typeof json.bias).toBe('number');
    expect(json.weight.every((w: unknown) => typeof w === 'number' && Number.isFinite(w))).toBe(true);
    expect(LAION_HEAD.weight).toHaveLength(512);
    expect(aestheticAvailable({ architecture: 'ViT-B/32', dim: 512 })).toBe(true);
    expect(aestheticAvailable({ architecture: null, dim: 512 })).toBe(false);
    expect(aestheticAvailable({ architecture: 'ViT-L/14', dim: 768 })).toBe(false);
  });

  it('gives a deterministic score for a fixed vector, and normalises its input', () => {
    const v = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i + 1));
    const norm = Math.hypot(...v);
    let expected = LAION_HEAD.bias;
    for (let i = 0; i < 512; i++) expected += (LAION_HEAD.weight[i] * v[i]) / norm;
    const s = aestheticScore(v);
    expect(s).toBeCloseTo(expected, 10);
    expect(aestheticScore(v.map((x) => x * 7))).toBeCloseTo(s, 5);
    // The zero vector's direction is undefined; e1 picks out w[0] + b.
    const e1 = new Float32Array(512);
    e1[0] = 1;
    expect(aestheticScore(e1)).toBeCloseTo(LAION_HEAD.weight[0] + LAION_HEAD.bias, 6);
    // Pinned: catches an accidental change of the committed data.
    expect(LAION_HEAD.weight[0]).toBe(Math.fround(1.2080796));
    expect(LAION_HEAD.bias).toBeCloseTo(3.4214709, 6);
    expect(() => aestheticScore(new Float32Array(10))).toThrow(/expects 512/);
  });

  it('scores every row of the matrix and ranks best first', async () => {
    const rows = 5;
    const data = new Float32Array(rows * 512);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let j = 0; j < 512; j++) n += (data[r * 512 + j] = Math.cos((r + 2) * (j + 1))) ** 2;
      for (let j = 0; j < 512; j++) data[r * 512 + j] /= Math.sqrt(n);
    }
    const m = EmbeddingMatrix.fromRows('vit', [10, 20, 30, 40, 50], data, 512);
    const all = aestheticScores(m);
    for (let r = 0; r < rows; r++) expect(all[r]).toBeCloseTo(aestheticScore(data.subarray(r * 512, (r + 1) * 512)), 4);
    // As "@laion" ranks: the signal through the one ranking function.
    const ctx = { matrix: m, model: { info: { name: 'vit', architecture: LAION_HEAD.architecture, dim: 512 } } } as unknown as SignalContext;
    const ranked = await rank(ctx, [{ signal: aestheticSignals.resolve('laion', ctx), weight: 1 }], { top: 3, paths: false });
    expect(ranked).toHaveLength(3);
    expect(ranked[0].score).toBe(Math.max(...all));
    expect(() => aestheticScores(EmbeddingMatrix.fromRows('tiny', [1], new Float32Array(32), 32))).toThrow(/expects 512/);
  });

  it('converter helpers: float32 text is exact and short', () => {
    for (const v of [1.2080796, -0.15948191, 3.421470880508423, 1e-7, -2.5]) {
      const f = Math.fround(v);
      expect(Math.fround(float32Text(f))).toBe(f);
      expect(String(float32Text(f)).replace(/^-/, '').replace('.', '').replace(/e.*$/, '').length).toBeLessThanOrEqual(10);
    }
  });
});

describe.skipIf(!fs.existsSync(HEADS))('LAION head against the real checkpoint and ViT-B/32 embeddings (../shared)', () => {
  if (!fs.existsSync(HEADS)) console.log(`skipped: ${HEADS} is absent (only on developer machines and CI)`);

  it('the committed JSON equals the .pth tensors exactly', () => {
    const pth = fs.readFileSync(path.join(HEADS, 'sa_0_4_vit_b_32_linear.pth'));
    expect(readZip(pth).map((e) => e.name).sort()).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/data/1', 'archive/version']);
    const head = readLinearHead(pth);
    expect(head.dim).toBe(512);
    expect(Float32Array.from(head.weight)).toEqual(LAION_HEAD.weight);
    expect(Math.fround(head.bias)).toBe(Math.fround(LAION_HEAD.bias));
    // The ViT-L/14 head has 768 inputs: shapes really come from data.pkl.
    expect(readLinearHead(fs.readFileSync(path.join(HEADS, 'sa_0_4_vit_l_14_linear.pth'))).dim).toBe(768);
  });

  it('scores rise with the LAION rating bucket (Spearman ≥ 0.9)', () => {
    const scores: number[] = [];
    for (let b = 0; b <= 9; b++) {
      const { shape, data } = readNpy(path.join(HEADS, 'vit_b_32_embeddings', `rating${b}.npy`));
      expect(shape).toEqual([1, 512]);
      scores.push(aestheticScore(data));
    }
    const rho = spearman([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], scores);
    console.log(`LAION aesthetic score per rating bucket 0..9: ${scores.map((s) => s.toFixed(3)).join(', ')}; Spearman ${rho.toFixed(3)}`);
    expect(rho).toBeGreaterThanOrEqual(0.9);
    expect(scores[9]).toBeGreaterThan(scores[0]);
  });
});
