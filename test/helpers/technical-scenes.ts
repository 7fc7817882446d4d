// Generated photo-like scenes for the technical analyzer's tests: a smooth sky (flat: no detail to
// judge focus or noise by), and below it textured ground (multi-octave value noise), hard-edged
// shapes and thin lines, at a seeded exposure. Raw RGB, ready for test/judgement/technical-judge.ts.
import { prng } from './fixtures.ts';
import type { RawImage } from '../judgement/technical-judge.ts';

function valueNoise(w: number, h: number, cell: number, rnd: () => number): Float32Array {
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => rnd());
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const a = grid[y0 * gw + x0] * (1 - fx) + grid[y0 * gw + x0 + 1] * fx;
      const b = grid[(y0 + 1) * gw + x0] * (1 - fx) + grid[(y0 + 1) * gw + x0 + 1] * fx;
      out[y * w + x] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}

export function scene(seed: number, width = 960, height = 640, opts: { brightness?: number } = {}): RawImage {
  const rnd = prng(seed);
  const k = opts.brightness ?? 0.75 + rnd() * 0.35;
  const horizon = Math.round(height * (0.25 + rnd() * 0.2));
  const tex = [4, 9, 23].map((c) => valueNoise(width, height, c, rnd));
  const base = [rnd(), rnd(), rnd()].map((v) => 60 + v * 120);
  const shapes = Array.from({ length: 14 }, () => ({
    x: rnd() * width, y: horizon + rnd() * (height - horizon), r: 10 + rnd() * 70,
    c: [rnd() * 255, rnd() * 255, rnd() * 255], square: rnd() < 0.5,
  }));
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let px: number[];
      if (y < horizon) {
        const t = y / horizon;
        px = [120 + 60 * t, 160 + 50 * t, 225 - 10 * t];
      } else {
        const n = 0.5 * tex[0][i] + 0.3 * tex[1][i] + 0.2 * tex[2][i];
        px = base.map((b) => b * (0.55 + 0.9 * n));
        for (const s of shapes) {
          const inside = s.square ? Math.abs(x - s.x) < s.r && Math.abs(y - s.y) < s.r * 0.6 : (x - s.x) ** 2 + (y - s.y) ** 2 < s.r * s.r;
          if (inside) px = s.c.map((c) => c * (0.8 + 0.4 * tex[0][i]));
        }
        if ((x + 3 * y) % 97 < 2) px = [20, 20, 20]; // thin lines
      }
      for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(px[c] * k)));
    }
  }
  return { name: `scene-${seed}`, data, width, height };
}
