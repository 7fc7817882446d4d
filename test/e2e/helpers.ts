// Helpers for the browser end-to-end tests: Debian's Chromium through playwright-core (nothing is
// downloaded at test time), a renderer build into a temp folder, generated "photos", and the start
// every test shares — prepareApp (temp folder, renderer, tiny model, the test's photos), then
// startApp (the real Library, server, Chromium and page, as one RunningApp that closeAll closes).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Library } from '../../electron/services/library.ts';
import { startServer, type RunningServer } from '../../electron/transport/index.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CULL_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');

/**
 * Whether the browser tests can run. Locally a missing Chromium skips them with a message; in CI
 * (process.env.CI) it is an error, because .ci/run installs it and a silent skip would hide that.
 */
export function chromiumStatus(): { available: boolean; message: string } {
  if (fs.existsSync(CHROMIUM)) return { available: true, message: '' };
  const message = `Chromium not found at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\` (or set CULL_CHROMIUM to its path) to run the browser end-to-end tests.`;
  if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip.)`);
  console.warn(`[e2e] skipped: ${message}`);
  return { available: false, message };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page of `browser` (1280×800 unless `viewport` says otherwise) that records into `errors` what a user would notice as broken:
 * uncaught exceptions, console errors and (unless `httpErrors` is false) HTTP responses ≥ 400.
 */
export async function openPage(
  browser: Browser,
  errors: string[],
  opts: { timeout?: number; httpErrors?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
  page.setDefaultTimeout(opts.timeout ?? 20_000);
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  if (opts.httpErrors === false) return page;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url().replace(/token=[^&]+/, 'token=…')} ${r.request().postData()?.slice(0, 300) ?? ''}`);
  });
  return page;
}

/**
 * Back to the grid with nothing open (Escape, at most three times): each browser test starts there,
 * so one failure does not cascade into the next.
 */
export async function backToGrid(page: Page | undefined): Promise<void> {
  if (!page) return;
  for (let i = 0; i < 3 && ((await page.locator('.grid').count()) === 0 || (await page.locator('[role="dialog"]').count()) > 0); i++) {
    await page.keyboard.press('Escape');
  }
}

/** Keyboard to the `i`-th photo of the grid (Home, then → `i` times), whose id is `ids[i]`. */
export async function focusNth(page: Page, ids: number[], i: number): Promise<void> {
  await page.keyboard.press('Home');
  for (let k = 0; k < i; k++) await page.keyboard.press('ArrowRight');
  await page.waitForSelector(`.tile.focused[data-id="${ids[i]}"]`);
}

/** Closes whatever a browser test got to open, last opened first, and removes its temp folder. */
export async function closeAll(parts: {
  browser?: Browser;
  server?: { close(): Promise<void> };
  db?: { close(): unknown };
  library?: { close(): Promise<void> };
  tmp?: string;
} = {}): Promise<void> {
  await parts.browser?.close();
  await parts.server?.close();
  parts.db?.close();
  await parts.library?.close();
  if (parts.tmp) fs.rmSync(parts.tmp, { recursive: true, force: true });
}

/** A browser test's temp folder and what it made there: the built renderer, the tiny model, the database's path. */
export interface AppFolder<T> {
  tmp: string;
  outDir: string;
  modelDir: string;
  dbPath: string;
  /** What `more` made (the photos), side by side with the renderer and the model. */
  made: T;
}

/**
 * The start every browser test shares: a temp folder (`prefix`), the renderer built into it and the
 * tiny generated model (seed 1) made there, in parallel with `more(tmp)` (the test's photos).
 */
export async function prepareApp<T>(prefix: string, more: (tmp: string) => Promise<T>): Promise<AppFolder<T>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const outDir = path.join(tmp, 'renderer');
  const modelDir = path.join(tmp, 'model');
  const [, , made] = await Promise.all([buildRenderer(outDir), makeTestModel({ out: modelDir, size: 'tiny', seed: 1 }), more(tmp)]);
  return { tmp, outDir, modelDir, dbPath: path.join(tmp, 'library.db'), made };
}

/** What a browser test holds while it runs; `closeAll(app)` closes all of it and removes `tmp`. */
export interface RunningApp {
  tmp: string;
  library: Library;
  server: RunningServer;
  /** A read-only view of the library's database, to check what the window wrote. */
  db: Database.Database;
  browser: Browser;
  page: Page;
}

export interface StartOptions {
  /** Folders added to the library and indexed before the window opens. */
  roots?: string[];
  /** Run on the open library after `roots` are indexed, before the server starts (rows written, checks). */
  setup?: (library: Library) => Promise<void> | void;
  /** The page's default timeout (openPage: 20 s). */
  timeout?: number;
  /** false: HTTP responses ≥ 400 are not page errors (see openPage). */
  httpErrors?: boolean;
  viewport?: { width: number; height: number };
  /** false: the page stays blank, for a test that listens to the page before it loads the app. */
  goto?: boolean;
}

/**
 * The rest of the start: the real Library on `folder`'s database and model (thumbnails in
 * tmp/thumbs), `roots` indexed, `setup`, then the real server serving the built renderer, a
 * read-only view of the database, Chromium, and a page (recording into `pageErrors`, see openPage)
 * on the server's URL. What was opened before a failure is closed (the temp folder too).
 */
export async function startApp(folder: AppFolder<unknown>, pageErrors: string[], opts: StartOptions = {}): Promise<RunningApp> {
  const parts: Partial<RunningApp> = { tmp: folder.tmp };
  try {
    const library = (parts.library = await Library.open({ dbPath: folder.dbPath, modelDir: folder.modelDir, thumbsDir: path.join(folder.tmp, 'thumbs') }));
    for (const root of opts.roots ?? []) await library.addRoot(root);
    if (opts.roots?.length) await library.index(undefined);
    await opts.setup?.(library);
    const server = (parts.server = await startServer({ library, port: 0, staticDir: folder.outDir }));
    parts.db = new Database(folder.dbPath, { readonly: true, fileMustExist: true });
    const browser = (parts.browser = await launchChromium());
    const page = (parts.page = await openPage(browser, pageErrors, opts));
    if (opts.goto !== false) await page.goto(server.url);
    return parts as RunningApp;
  } catch (err) {
    await closeAll(parts);
    throw err;
  }
}

/** What the browser tests do to a page again and again: screenshots, waiting for thumbnails, sliders. */
export function pageTools(page: Page) {
  return {
    async screenshot(name: string, clip?: { x: number; y: number; width: number; height: number }): Promise<void> {
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.mouse.move(1279, 799); // no hover highlight in the pictures
      await page.screenshot({ path: path.join(SCREENSHOTS, name), clip });
    },
    /** Resolves once every image matching `selector` that is in view has loaded. */
    async imagesLoaded(selector: string): Promise<void> {
      await page.waitForFunction((sel) => {
        const imgs = Array.from(document.querySelectorAll<HTMLImageElement>(sel)).filter((img) => {
          const r = img.getBoundingClientRect();
          return r.bottom > 0 && r.top < window.innerHeight && r.width > 0;
        });
        return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
      }, selector);
    },
    /** Moves a range input like a user: input events while dragging, change on release. */
    async slide(selector: string, value: number): Promise<void> {
      await page.$eval(
        selector,
        (el, v) => {
          const input = el as HTMLInputElement;
          input.value = String(v);
          input.dispatchEvent(new Event('input', { bubbles: true }));
          input.dispatchEvent(new Event('change', { bubbles: true }));
        },
        value,
      );
    },
  };
}

/** `vite build` of the renderer into `outDir` (a child process: Vite stays out of the test's process). */
export function buildRenderer(outDir: string): Promise<void> {
  const viteBin = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && fs.existsSync(path.join(outDir, 'index.html'))) resolve();
      else reject(new Error(`vite build failed (exit ${code}):\n${output}`));
    });
  });
}

// --- generated photos ---------------------------------------------------------------------------

const PALETTES = [
  { name: 'sunset', sky: ['#1d2b64', '#f8a65b'], ground: '#2b1d1a', sun: '#ffd27a' },
  { name: 'noon', sky: ['#3a7bd5', '#a8d8f0'], ground: '#4f7d3a', sun: '#fffbe6' },
  { name: 'night', sky: ['#050814', '#1b2a4a'], ground: '#0b0f14', sun: '#dfe6f0' },
  { name: 'desert', sky: ['#f0c27b', '#fbe7c6'], ground: '#c8894a', sun: '#fff4d6' },
  { name: 'sea', sky: ['#4b79a1', '#cfe3f3'], ground: '#1f4e79', sun: '#ffffff' },
  { name: 'forest', sky: ['#8fb996', '#e4efe0'], ground: '#23402a', sun: '#f7f3d0' },
  { name: 'storm', sky: ['#232526', '#6b7178'], ground: '#2e3033', sun: '#9aa0a6' },
  { name: 'snow', sky: ['#c9d6ff', '#f5f7fa'], ground: '#e8edf2', sun: '#ffffff' },
];

function sceneSvg(i: number, w: number, h: number): string {
  const p = PALETTES[i % PALETTES.length];
  const r = (k: number) => {
    const x = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453;
    return x - Math.floor(x);
  };
  const horizon = Math.round(h * (0.5 + 0.25 * r(1)));
  const hills = Array.from({ length: 7 }, (_, k) => `${Math.round((k / 6) * w)},${Math.round(horizon - h * 0.18 * r(k + 2))}`).join(' ');
  const sunX = Math.round(w * (0.15 + 0.7 * r(9)));
  const sunY = Math.round(horizon - h * (0.12 + 0.3 * r(10)));
  const sunR = Math.round(h * (0.05 + 0.07 * r(11)));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
  <defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${p.sky[0]}"/><stop offset="1" stop-color="${p.sky[1]}"/></linearGradient></defs>
  <rect width="${w}" height="${h}" fill="url(#s)"/>
  <circle cx="${sunX}" cy="${sunY}" r="${sunR}" fill="${p.sun}" opacity="0.92"/>
  <polygon points="0,${h} ${hills} ${w},${h}" fill="${p.ground}" opacity="0.85"/>
  <rect y="${horizon}" width="${w}" height="${h - horizon}" fill="${p.ground}"/>
</svg>`;
}

export interface GeneratedPhoto {
  file: string;
  takenAt: Date;
}

/**
 * `count` landscape-like JPEGs (sky gradient, hills, sun) with varied palettes, exposure, blur and
 * noise, each with an EXIF capture date; the second half goes into a sub-folder.
 */
export async function makePhotos(dir: string, count: number): Promise<GeneratedPhoto[]> {
  const w = 720;
  const h = 480;
  const out: GeneratedPhoto[] = [];
  fs.mkdirSync(path.join(dir, 'day 2'), { recursive: true });
  const start = Date.UTC(2024, 5, 1, 6, 30, 0);
  for (let i = 0; i < count; i++) {
    const takenAt = new Date(start + i * 7 * 60_000);
    const exifDate = takenAt.toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, ':');
    let img = sharp(Buffer.from(sceneSvg(i, w, h)));
    // Vary exposure, focus and noise so attributes have something to rank.
    const exposure = 0.5 + ((i * 37) % 100) / 125; // 0.5 .. 1.3
    img = sharp(await img.png().toBuffer()).modulate({ brightness: exposure, saturation: 0.6 + ((i * 53) % 100) / 90 });
    if (i % 5 === 3) img = img.blur(6);
    let buf = await img.png().toBuffer();
    if (i % 4 === 1) {
      const noise = await sharp({ create: { width: w, height: h, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
      buf = await sharp(buf).composite([{ input: noise, blend: 'soft-light' }]).png().toBuffer();
    }
    const file = path.join(dir, i < count / 2 ? '' : 'day 2', `DSC_${String(1001 + i)}.jpg`);
    await sharp(buf)
      .withExif({ IFD0: { Make: 'Cull', Model: 'Synthetic Camera' }, IFD2: { DateTimeOriginal: exifDate } })
      .jpeg({ quality: 86 })
      .toFile(file);
    out.push({ file, takenAt });
  }
  return out;
}

/** Writes a file that looks like a JPEG by name but is not one, for the indexing-errors list. */
export function writeBrokenPhoto(dir: string): string {
  const file = path.join(dir, 'broken.jpg');
  fs.writeFileSync(file, Buffer.from('this is not a JPEG, it is a text file with the wrong name\n'));
  return file;
}

/**
 * A shoot with bursts: `scenes` different scenes, each saved `framesPerScene(s)` times one second
 * apart with small shifts, crops and exposure changes (what a burst looks like), scenes ten minutes
 * apart, plus `singles` unrelated photos in between. Returns the files per scene.
 */
export async function makeBursts(
  dir: string,
  opts: { scenes: number; frames: (scene: number) => number; singles: number; seedOffset?: number },
): Promise<{ bursts: string[][]; singles: string[] }> {
  const w = 720;
  const h = 480;
  fs.mkdirSync(dir, { recursive: true });
  const start = Date.UTC(2024, 8, 14, 9, 0, 0);
  const exif = (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, ':');
  const bursts: string[][] = [];
  const singles: string[] = [];
  let n = 0;
  const write = async (buf: Buffer, t: number) => {
    const file = path.join(dir, `IMG_${String(2001 + n++)}.jpg`);
    await sharp(buf)
      .withExif({ IFD0: { Make: 'Cull', Model: 'Burst Camera' }, IFD2: { DateTimeOriginal: exif(t) } })
      .jpeg({ quality: 88 })
      .toFile(file);
    return file;
  };
  const off = opts.seedOffset ?? 0;
  for (let s = 0; s < opts.scenes; s++) {
    const t0 = start + s * 20 * 60_000;
    // Rendered a little larger so frames can be shifted and cropped out of it.
    const base = await sharp(Buffer.from(sceneSvg(s * 3 + off, w + 60, h + 40))).png().toBuffer();
    const files: string[] = [];
    for (let f = 0; f < opts.frames(s); f++) {
      const left = (f * 13) % 50;
      const top = (f * 7) % 30;
      let img = sharp(base).extract({ left, top, width: w, height: h }).modulate({ brightness: 0.92 + 0.05 * (f % 4) });
      if (f % 3 === 2) img = img.blur(1.5);
      files.push(await write(await img.png().toBuffer(), t0 + f * 1000));
    }
    bursts.push(files);
    if (s < opts.singles) {
      const single = await sharp(Buffer.from(sceneSvg(100 + s * 7 + off, w, h))).modulate({ brightness: 0.8 + 0.1 * (s % 3) }).png().toBuffer();
      singles.push(await write(single, t0 + 10 * 60_000));
    }
  }
  return { bursts, singles };
}
