// DEV ONLY (`npx vite` then open /?mock or /?mock=100000): an in-memory CullApi with generated
// photos, to work on the UI without a library. Production builds never include it: main.ts
// imports it behind `import.meta.env.DEV`, which Vite replaces with `false` when building.
// It mocks what the UI needs; a method it does not mock (a new one, say) rejects with a message
// saying so, so adding an API method never requires touching this file.
import { bindMethods, type CullApi, type PreviousCulling, type ServerEvent, type TasteModelInfo, type TransportedApi } from '../../../common/api-types.ts';
import type { Attribute, AttributeQuery, PhotoRecord, ScoredPhoto } from '../../../common/types.ts';

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function rand01(seed: number): number {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function thumbSvg(id: number, big: boolean): string {
  const h1 = Math.floor(rand01(id) * 360);
  const h2 = (h1 + 40 + Math.floor(rand01(id * 7) * 120)) % 360;
  const l = 20 + Math.floor(rand01(id * 13) * 50);
  const w = big ? 1500 : 300;
  const h = big ? 1000 : 200;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 300 200"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${h1},55%,${l}%)"/><stop offset="1" stop-color="hsl(${h2},60%,${Math.max(8, l - 15)}%)"/></linearGradient></defs><rect width="300" height="200" fill="url(#g)"/><circle cx="${60 + (id % 180)}" cy="${70 + (id % 60)}" r="${20 + (id % 30)}" fill="hsla(${h2},70%,80%,0.5)"/><text x="12" y="188" font-family="sans-serif" font-size="14" fill="rgba(255,255,255,0.6)">#${id}</text></svg>`;
  return 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
}

function parse(text: string): AttributeQuery {
  const terms = text.split('+').map((t) => t.trim()).filter(Boolean);
  if (!terms.length) throw { code: 'invalid-argument', message: 'Type an attribute such as "sharp vs blurry".' };
  const attributes: Attribute[] = terms.map((term) => {
    const m = /^(?:([\d.]+)\s*\*\s*)?(.+)$/.exec(term)!;
    const weight = m[1] ? Number(m[1]) : 1;
    const body = m[2].trim();
    if (body.startsWith('@')) {
      return { label: `${body.slice(1)}: good vs bad`, positive: { prompts: ['good'] }, negative: { prompts: ['bad'] }, weight };
    }
    const parts = body.split(/\s+vs\.?\s+/i);
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw { code: 'invalid-argument', message: `"${body}" is not a pair of opposites: type them separated by "vs", e.g. "sharp vs blurry".` };
    }
    return { label: body, positive: { prompts: [parts[0]] }, negative: { prompts: [parts[1]] }, weight };
  });
  return { attributes };
}

export function createMockApi(count = 2000): CullApi {
  const listeners = new Set<(e: ServerEvent) => void>();
  const emit = (e: ServerEvent) => listeners.forEach((l) => l(e));
  let roots = ['/home/me/Pictures/2024 Iceland'];
  const start = new Date(2024, 5, 1).getTime();
  let photos: PhotoRecord[] = [];
  const makePhotos = (n: number) => {
    photos = Array.from({ length: n }, (_, i) => {
      const id = i + 1;
      const folder = `${roots[0] ?? '/photos'}/${i < n / 2 ? 'day 1' : 'day 2'}`;
      return {
        id,
        path: `${folder}/IMG_${String(id).padStart(5, '0')}.jpg`,
        folder,
        name: `IMG_${String(id).padStart(5, '0')}.jpg`,
        size: 3_000_000 + (id % 1000) * 1000,
        mtimeMs: start + id * 61_000,
        width: 6000,
        height: 4000,
        takenAt: start + id * 60_000,
        camera: 'Mock EOS',
        lens: '24-70mm',
        thumb: null,
        status: 'ok',
        error: null,
        rating: 0,
        flag: 0,
        label: null,
      } satisfies PhotoRecord;
    });
  };
  makePhotos(count);
  let cancelled = false;

  const scoreOne = (q: AttributeQuery, id: number): { score: number; parts: Record<string, number> } => {
    const parts: Record<string, number> = {};
    let sum = 0;
    let wsum = 0;
    for (const a of q.attributes) {
      const s = rand01(hash(a.label) ^ id);
      parts[a.label] = s;
      sum += s * (a.weight ?? 1);
      wsum += a.weight ?? 1;
    }
    return { score: wsum ? sum / wsum : 0, parts };
  };
  let taste: TasteModelInfo | null = null;
  const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const api: CullApi = {
    ...bindMethods((name) => Promise.reject({ code: 'internal', message: `The mock API (?mock) does not implement ${name}.` })),
    thumbUrl: (id) => thumbSvg(id, false),
    imageUrl: (id) => thumbSvg(id, true),
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const mocked: Partial<TransportedApi> = {
    async modelStatus() {
      return { state: 'ready', dir: '/mock/models/test', model: { id: 'test-tiny', name: 'Test CLIP (tiny, random)', randomWeights: true, architecture: 'clip' } };
    },
    async downloadModel() {
      return api.modelStatus();
    },
    async cancelDownload() {},
    async stats() {
      return {
        photos: photos.length,
        embedded: photos.length,
        missing: 0,
        failed: 1,
        picks: photos.filter((p) => p.flag === 1).length,
        rejects: photos.filter((p) => p.flag === -1).length,
        rated: photos.filter((p) => p.rating > 0).length,
        roots,
        model: { id: 'test-tiny', name: 'Test CLIP (tiny, random)', randomWeights: true, architecture: 'clip' },
      };
    },
    async roots() {
      return roots;
    },
    async addRoot(dir) {
      if (!dir.startsWith('/')) throw { code: 'invalid-argument', message: `"${dir}" is not an absolute path: type the full path, e.g. /home/me/Pictures.` };
      roots = [...new Set([...roots, dir])];
      return roots;
    },
    async removeRoot(dir) {
      roots = roots.filter((r) => r !== dir);
      return roots;
    },
    async index() {
      cancelled = false;
      const total = 240;
      const t0 = Date.now();
      const errors: { path: string; reason: string }[] = [];
      for (let done = 0; done <= total; done += 8) {
        if (cancelled) break;
        await delay(120);
        const secs = (Date.now() - t0) / 1000;
        const rate = done / Math.max(0.001, secs);
        const lastError = done === 80 ? { path: '/home/me/Pictures/2024 Iceland/broken.jpg', reason: 'Not a JPEG file: starts with 0x00 0x00' } : undefined;
        if (lastError) errors.push(lastError);
        emit({
          type: 'index-progress',
          progress: { phase: 'indexing', found: total, done, total, indexed: done, skipped: 0, failed: errors.length, ratePerSec: rate, etaSec: rate ? (total - done) / rate : null, current: `/home/me/Pictures/IMG_${done}.jpg`, lastError },
        });
      }
      const summary = { indexed: total, skipped: 0, failed: errors.length, missing: 0, renamed: 0, duplicates: 0, errors, seconds: (Date.now() - t0) / 1000, cancelled };
      emit({ type: 'index-done', summary });
      return summary;
    },
    async cancelIndex() {
      cancelled = true;
    },
    async presets() {
      return ['quality', 'aesthetics', 'sharpness', 'brightness', 'noise', 'colorfulness', 'scary'].map((id) => ({ id, label: id, description: `Preset ${id}` }));
    },
    async parseQuery(text) {
      return parse(text);
    },
    async score(query, opts) {
      const q = typeof query === 'string' ? parse(query) : query;
      await delay(80);
      const out: ScoredPhoto[] = photos.map((p) => ({ id: p.id, path: p.path, ...scoreOne(q, p.id) }));
      out.sort((a, b) => b.score - a.score || a.id - b.id);
      return opts?.top ? out.slice(0, opts.top) : out;
    },
    async search(text) {
      const out = photos.map((p) => ({ id: p.id, path: p.path, score: 0.15 + 0.2 * rand01(hash(text) ^ p.id) }));
      return out.sort((a, b) => b.score - a.score);
    },
    async explain(id, query) {
      const q = typeof query === 'string' ? parse(query) : query;
      return scoreOne(q, id).parts;
    },
    async explainAll(id) {
      const presets: Record<string, number> = {};
      for (const name of ['quality', 'sharpness', 'brightness', 'noise', 'colorfulness']) presets[name] = rand01(hash(name) ^ id);
      return { presets, taste: taste ? { [taste.name]: rand01(hash(taste.name) ^ id) } : {} };
    },
    // Nothing measured in the mock: the loupe says "not measured yet", the issue filters show none.
    async focusMap() {
      return null;
    },
    async photoFaces() {
      return { analyzed: false, faces: [] };
    },
    async problems() {
      return { outOfFocus: [], closedEyes: [], outOfFocusBelow: 0.45, focusMeasured: 0, facesMeasured: 0 };
    },
    async groups() {
      // Mock bursts: every run of 4 consecutive photos whose id is divisible by 3 at the start.
      const out = [];
      for (let i = 0; i + 3 < photos.length; i += 9) {
        const ids = photos.slice(i, i + 3).map((p) => p.id);
        out.push({ ids, bestId: ids[0], reason: 'burst' as const, scores: ids.map((x) => rand01(x)), by: '@quality + @sharpness', why: [] });
      }
      return out;
    },
    async rejectGroupCandidates(groups) {
      const others = groups.flatMap((g) => g.ids.filter((x) => x !== g.bestId)).filter((x) => photos.find((p) => p.id === x)?.flag !== 1);
      return api.setCulling(others, { flag: -1 });
    },
    async bestOfGroupIds() {
      const groups = await api.groups();
      const others = new Set(groups.flatMap((g) => g.ids.slice(1)));
      return photos.filter((p) => !others.has(p.id) && p.flag !== -1).map((p) => p.id);
    },
    async tasteModels() {
      return taste ? [taste] : [];
    },
    async fitTaste(name = 'my taste') {
      const decided = photos.filter((p) => p.flag !== 0 || p.rating > 0);
      if (decided.length < 10) throw { code: 'invalid-argument', message: `A taste model needs at least 10 decisions; there are ${decided.length}.` };
      taste = {
        name, modelId: 'test-tiny', kind: 'ridge', dim: 64, bias: 0.5, lambda: 1, examples: decided.length,
        picks: decided.filter((p) => p.flag === 1).length, rejects: decided.filter((p) => p.flag === -1).length,
        rated: decided.filter((p) => p.flag === 0).length, metric: 'spearman', validation: 0.12, auc: null, folds: 5, scope: null, createdAt: Date.now(),
      };
      return taste;
    },
    async maybeRefitTaste() {
      return null;
    },
    async deleteTaste(name) {
      const had = taste?.name === name;
      if (had) taste = null;
      return had;
    },
    async photos() {
      return photos.map((p) => ({ ...p }));
    },
    async photo(id) {
      return photos.find((p) => p.id === id) ?? null;
    },
    async previewInfo(id) {
      const p = photos.find((q) => q.id === id);
      return p?.width && p.height ? { source: 'original', width: p.width, height: p.height, sensor: null } : null;
    },
    async setCulling(ids, change) {
      const prev: PreviousCulling[] = [];
      for (const p of photos) {
        if (!ids.includes(p.id)) continue;
        prev.push({ id: p.id, rating: p.rating, flag: p.flag, label: p.label });
        Object.assign(p, change);
      }
      return prev;
    },
    async restoreCulling(prev) {
      for (const r of prev) {
        const p = photos.find((x) => x.id === r.id);
        if (p) Object.assign(p, { rating: r.rating, flag: r.flag, label: r.label });
      }
    },
    async exportPhotos(opts) {
      cancelled = false;
      for (let i = 0; i < opts.photoIds.length; i++) {
        if (cancelled) throw { code: 'cancelled', message: 'Export cancelled.' };
        await delay(60);
        emit({ type: 'export-progress', done: i + 1, total: opts.photoIds.length, current: `IMG_${opts.photoIds[i]}.jpg` });
      }
      return {
        exported: opts.photoIds.map((id) => ({ id, from: `/x/${id}.jpg`, to: `${opts.to}/${id}.jpg` })),
        failed: [],
        xmpWritten: opts.xmp ? opts.photoIds.length : 0,
        report: opts.report ?? null,
        destination: opts.to,
      };
    },
    async cancelExport() {
      cancelled = true;
    },
  };
  return Object.assign(api, mocked);
}
