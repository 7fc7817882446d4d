// Near-duplicate grouping's yardsticks, for tests and the benchmark: synthetic libraries with
// planted bursts and near-duplicates, the adjusted Rand index of found against planted groups, and a
// timed run of groupPhotos on such a library.
import { DEFAULT_STRICTNESS, groupPhotos, type GroupInput } from '../../electron/services/culling/groups.ts';
import { prng } from '../../electron/services/matrix/prng.ts';

/** Adjusted Rand index between two labelings of the same items (1 = identical partitions). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error('adjustedRandIndex: labelings of different lengths.');
  const c2 = (x: number) => (x * (x - 1)) / 2;
  const joint = new Map<string, number>();
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]}|${b[i]}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
    ca.set(a[i], (ca.get(a[i]) ?? 0) + 1);
    cb.set(b[i], (cb.get(b[i]) ?? 0) + 1);
  }
  let index = 0;
  for (const v of joint.values()) index += c2(v);
  let sa = 0;
  for (const v of ca.values()) sa += c2(v);
  let sb = 0;
  for (const v of cb.values()) sb += c2(v);
  const expected = (sa * sb) / c2(n);
  const max = (sa + sb) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}

/** Group label per id: the group's index, or a unique negative label for ungrouped photos. */
export function groupLabels(allIds: ArrayLike<number>, groups: { ids: number[] }[]): Int32Array {
  const of = new Map<number, number>();
  groups.forEach((g, k) => g.ids.forEach((id) => of.set(id, k)));
  return Int32Array.from({ length: allIds.length }, (_, i) => of.get(allIds[i]) ?? -1 - i);
}

export interface SyntheticGroupsOptions {
  photos?: number;
  dim?: number;
  /** Share of the photos that belong to a planted group (default 0.2). */
  groupedShare?: number;
  /** Largest ‖noise‖ relative to the scene vector (default 0.3: member cosines ≥ 0.917). */
  noise?: number;
  /** Weight of a component every photo shares, as in CLIP (0 = isotropic; 0.7 ≈ CLIP's cone). */
  shared?: number;
  seed?: number;
}

export interface SyntheticGroups {
  input: GroupInput & { takenAt: Float64Array; camera: string[] };
  /** Per row: a "sharpness" each group's best must maximise. */
  scores: Float32Array;
  truth: { ids: number[]; kind: 'burst' | 'near-duplicate'; bestId: number }[];
}

/**
 * A library of random scenes: unit vectors far apart, plus planted groups (half bursts shot 0.4 s
 * apart on one camera, half near-duplicates taken at random times) whose members are the scene
 * vector plus small noise, like shifted, re-cropped or re-exposed frames.
 */
export function syntheticGroupLibrary(opts: SyntheticGroupsOptions = {}): SyntheticGroups {
  const n = opts.photos ?? 100_000;
  const dim = opts.dim ?? 512;
  const rnd = prng(opts.seed ?? 7);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-300)) * Math.cos(2 * Math.PI * rnd());
  const shared = opts.shared ?? 0;
  const common = new Float64Array(dim);
  for (let j = 0; j < dim; j++) common[j] = gauss();
  const unit = (v: Float64Array) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[j] * v[j];
    const k = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) v[j] *= k;
    return v;
  };
  unit(common);
  const randomScene = () => {
    const v = new Float64Array(dim);
    for (let j = 0; j < dim; j++) v[j] = gauss();
    unit(v);
    if (shared) {
      for (let j = 0; j < dim; j++) v[j] = shared * common[j] + Math.sqrt(1 - shared * shared) * v[j];
      unit(v);
    }
    return v;
  };
  const vectors = new Float32Array(n * dim);
  const takenAt = new Float64Array(n);
  const camera: string[] = new Array(n);
  const ids = Int32Array.from({ length: n }, (_, i) => i + 1);
  const scores = new Float32Array(n);
  const truth: SyntheticGroups['truth'] = [];
  const YEAR = 365 * 24 * 3600 * 1000;
  const T0 = Date.UTC(2024, 0, 1);
  const cameras = ['Canon EOS R5', 'Nikon Z8', 'Sony A7 IV'];
  const noise = opts.noise ?? 0.3;
  let r = 0;
  const put = (v: Float64Array, t: number, cam: string) => {
    vectors.set(v, r * dim);
    takenAt[r] = t;
    camera[r] = cam;
    scores[r] = rnd();
    r++;
  };
  const grouped = Math.floor(n * (opts.groupedShare ?? 0.2));
  while (r < grouped - 1) {
    const size = Math.min(grouped - r, 2 + Math.floor(rnd() * 5));
    const scene = randomScene();
    const kind = truth.length % 2 ? 'near-duplicate' : 'burst';
    const start = T0 + rnd() * YEAR;
    const cam = cameras[Math.floor(rnd() * cameras.length)];
    const first = r;
    for (let m = 0; m < size; m++) {
      const e = new Float64Array(dim);
      for (let j = 0; j < dim; j++) e[j] = gauss();
      unit(e);
      const eps = noise * (0.3 + 0.7 * rnd());
      const v = new Float64Array(dim);
      for (let j = 0; j < dim; j++) v[j] = scene[j] + eps * e[j];
      put(unit(v), kind === 'burst' ? start + m * 400 : T0 + rnd() * YEAR, kind === 'burst' ? cam : cameras[Math.floor(rnd() * cameras.length)]);
    }
    const memberIds = Array.from({ length: size }, (_, m) => ids[first + m]);
    let bestRow = first;
    for (let m = first; m < r; m++) if (scores[m] > scores[bestRow]) bestRow = m;
    truth.push({ ids: memberIds, kind, bestId: ids[bestRow] });
  }
  while (r < n) put(randomScene(), T0 + rnd() * YEAR, cameras[Math.floor(rnd() * cameras.length)]);
  return { input: { ids, vectors, dim, takenAt, camera }, scores, truth };
}

export interface GroupingBenchmark {
  photos: number;
  dim: number;
  strictness: number;
  ms: number;
  groups: number;
  planted: number;
  /** Planted groups found exactly (same members). */
  recovered: number;
  /** Adjusted Rand index of found vs planted groups over all photos. */
  ari: number;
}

/** Times `groupPhotos` on a synthetic library (generation not included): for the benchmark. */
export function benchmarkGrouping(opts: SyntheticGroupsOptions & { strictness?: number } = {}): GroupingBenchmark {
  const lib = syntheticGroupLibrary(opts);
  const t = performance.now();
  const groups = groupPhotos(lib.input, { strictness: opts.strictness, scores: lib.scores });
  const ms = performance.now() - t;
  const key = (ids: number[]) => [...ids].sort((a, b) => a - b).join(',');
  const found = new Set(groups.map((g) => key(g.ids)));
  return {
    photos: lib.input.ids.length,
    dim: lib.input.dim,
    strictness: opts.strictness ?? DEFAULT_STRICTNESS,
    ms,
    groups: groups.length,
    planted: lib.truth.length,
    recovered: lib.truth.filter((g) => found.has(key(g.ids))).length,
    ari: adjustedRandIndex(groupLabels(lib.input.ids, lib.truth), groupLabels(lib.input.ids, groups)),
  };
}
