// End-to-end: the built renderer in Debian's Chromium, talking over HTTP + WebSocket to the real
// server and the real Library (SQLite file, generated tiny CLIP model, generated photos). Checks
// what a user does — add a folder, index, rank by a typed attribute, cull with keys, undo, loupe,
// compare, export — against the library and the database directly, and saves screenshots to
// test-output/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import { chromiumStatus, backToGrid, closeAll, pageTools, prepareApp, makePhotos, startApp, writeBrokenPhoto, type RunningApp } from './helpers.ts';

const PHOTOS = 30;
const chromium = chromiumStatus();

describe.skipIf(!chromium.available)('Cull in Chromium (real server, real library)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  let photosDir: string;
  const pageErrors: string[] = [];

  const row = (id: number) => app.db.prepare('SELECT rating, flag, label FROM photos WHERE id = ?').get(id) as { rating: number; flag: number; label: string | null };
  /** Tiles currently in the DOM, in DOM order: [id, index]. */
  const tiles = () => page.$$eval('.grid .tile', (els) => els.map((e) => [Number((e as HTMLElement).dataset.id), Number((e as HTMLElement).dataset.index)] as const));
  const tileIds = async () => (await tiles()).map(([id]) => id);

  const tools = () => pageTools(page);
  const imagesLoaded = (selector: string) => tools().imagesLoaded(selector);
  const screenshot = (name: string, clip?: { x: number; y: number; width: number; height: number }) => tools().screenshot(name, clip);
  const setRange = (selector: string, value: number) => tools().slide(selector, value);

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-', (dir) => makePhotos(path.join(dir, 'Photos', 'Iceland 2024'), PHOTOS));
    photosDir = path.join(folder.tmp, 'Photos', 'Iceland 2024');
    writeBrokenPhoto(photosDir);
    // Lightroom's sidecar for the last photo: read at index, shown in its tile's tooltip and the loupe (issue #12).
    fs.copyFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'xmp', 'lightroom.xmp'), path.join(photosDir, 'day 2', `DSC_${1000 + PHOTOS}.xmp`));
    app = await startApp(folder, pageErrors);
    ({ page, library } = app);
  });

  beforeEach(() => backToGrid(page));

  afterAll(() => closeAll(app));

  it('opens on an empty library with the random-weights warning', async () => {
    await page.waitForSelector('#folder-input');
    const banner = page.locator('[data-testid="random-weights-banner"]');
    await banner.waitFor();
    expect(await banner.innerText()).toContain('Test model with random weights — scores are meaningless');
    expect(await page.locator('.grid .empty').innerText()).toContain('No photos yet');
  });

  it('adds the folder, indexes it with progress, and lists the unreadable file with its reason', async () => {
    await page.fill('#folder-input', photosDir);
    await page.press('#folder-input', 'Enter');
    await page.waitForSelector(`[data-root="${photosDir}"]`);
    expect(await library.roots()).toEqual([photosDir]);

    // Indexing starts with the add (no Index click).
    await page.waitForSelector('[data-testid="index-summary"]', { timeout: 120_000 });
    const errors = page.locator('[data-testid="index-progress"] .errors');
    expect(await errors.innerText()).toMatch(/broken\.jpg/);
    expect(await errors.locator('.reason').first().innerText()).not.toBe('');

    const photos = await library.photos();
    expect(photos).toHaveLength(PHOTOS);
    await page.waitForSelector(`.grid[data-count="${PHOTOS}"] .tile`);
    expect(await page.locator('[data-stat="photos"]').innerText()).toBe(String(PHOTOS + 1)); // + the unreadable one
    // Default order: capture date, oldest first (the grid renders the rows in view only).
    const byDate = [...photos].sort((a, b) => a.takenAt! - b.takenAt!).map((p) => p.id);
    const shown = await tileIds();
    expect(shown.length).toBeGreaterThanOrEqual(10);
    expect(shown).toEqual(byDate.slice(0, shown.length));
    await imagesLoaded('.grid .tile img');
  });

  it('ranks by a typed attribute in exactly the order library.score() gives', async () => {
    await page.fill('#attribute-input', 'bright vs dark');
    await page.press('#attribute-input', 'Enter');
    await page.waitForSelector('[data-attribute="bright vs dark"]');
    await page.waitForFunction(() => (document.querySelector('#sort-key') as HTMLSelectElement).value === 'score');

    const expected = (await library.score('bright vs dark')).map((r) => r.id);
    const dom = await tiles();
    expect(dom.length).toBeGreaterThanOrEqual(10);
    expect(dom.map(([, i]) => i)).toEqual(dom.map((_, i) => i)); // DOM order is grid order
    expect(dom.map(([id]) => id)).toEqual(expected.slice(0, dom.length));
    // The badge shows the score; Enter handed the keyboard back to the grid.
    const best = (await library.score('bright vs dark'))[0];
    expect(await page.locator(`.tile[data-id="${best.id}"] .score`).innerText()).toBe(best.score.toFixed(2));
    expect(await page.evaluate(() => document.activeElement?.id ?? '')).not.toBe('attribute-input');
  });

  it('shows a parse error inline and keeps the ranking', async () => {
    await page.fill('#attribute-input', 'just some words');
    await page.press('#attribute-input', 'Enter');
    const error = page.locator('#attribute-error');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/vs/);
    expect(await page.locator('[data-attribute="bright vs dark"]').count()).toBe(1);
    await page.fill('#attribute-input', 'bright vs dark');
    await page.press('#attribute-input', 'Enter');
    await error.waitFor({ state: 'detached' });
  });

  it('typing the next attribute while the last one is still scoring keeps the keyboard in the box', async () => {
    // The box hands the keyboard back to the grid when an attribute's scores arrive — not to
    // someone already typing the next one there (under load the scores came after the next
    // fill, and its Enter went to the grid). The scores are held at the network until then.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let scoring = 0;
    await page.route('**/api/score', async (route) => {
      scoring++;
      await held;
      await route.continue();
    });
    try {
      await page.fill('#attribute-input', 'sharp vs blurry');
      await page.press('#attribute-input', 'Enter');
      await page.waitForSelector('[data-attribute="sharp vs blurry"]'); // parsed; its scores are held
      await expect.poll(() => scoring > 0).toBe(true); // (the window may also re-score for its own reasons: all are held)
      await page.fill('#attribute-input', 'bright vs dark'); // the next one, typed while they wait
      release();
      const bySharp = (await library.score('sharp vs blurry')).map((r) => r.id);
      await expect.poll(async () => (await tileIds()).slice(0, 10)).toEqual(bySharp.slice(0, 10)); // the scores arrived
      expect(await page.evaluate(() => document.activeElement?.id ?? '')).toBe('attribute-input');
      await page.keyboard.press('Enter'); // where the keyboard is, without clicking the box again
      await page.waitForSelector('[data-attribute="bright vs dark"]');
      await page.waitForSelector('[data-attribute="sharp vs blurry"]', { state: 'detached' });
    } finally {
      release();
      await page.unroute('**/api/score');
    }
  });

  it('searches by free text in the order library.search() gives, then goes back to the attribute', async () => {
    const text = 'a sunset over the hills';
    await page.fill('#search-input', text);
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('button[title="Clear the search"]');
    const expected = (await library.search(text)).map((r) => r.id);
    await expect.poll(async () => (await tileIds()).slice(0, 10)).toEqual(expected.slice(0, 10));
    await page.click('button[title="Clear the search"]');
    const byAttribute = (await library.score('bright vs dark')).map((r) => r.id);
    await expect.poll(async () => (await tileIds()).slice(0, 10)).toEqual(byAttribute.slice(0, 10));
  });

  it('combines weighted attributes, draws the histogram and filters by the threshold', async () => {
    const text = 'bright vs dark + 0.5*colorful vs dull';
    await page.fill('#attribute-input', text);
    await page.press('#attribute-input', 'Enter');
    await page.waitForSelector('[data-attribute="colorful vs dull"]');
    const weights = await page.$$eval('.chip .weight', (els) => els.map((e) => Number((e as HTMLInputElement).value)));
    expect(weights).toEqual([1, 0.5]);

    const scored = await library.score(text);
    await expect.poll(async () => (await tileIds()).slice(0, 10)).toEqual(scored.slice(0, 10).map((r) => r.id));
    expect(await page.locator('svg.hist rect.kept').count()).toBeGreaterThan(0);

    // Threshold between the 10th and 11th best scores (a range input keeps ~15 digits, so not
    // exactly on a score): exactly the top 10 stay.
    expect(scored[9].score).toBeGreaterThan(scored[10].score);
    const cut = (scored[9].score + scored[10].score) / 2;
    await setRange('.threshold input[type="range"]', cut);
    const kept = scored.filter((r) => r.score >= cut).map((r) => r.id);
    expect(kept).toHaveLength(10);
    await page.waitForSelector(`.grid[data-count="10"]`);
    expect(await tileIds()).toEqual(kept); // 10 tiles: all rendered
    expect(await page.locator('svg.hist line.cut').count()).toBe(1);
    await imagesLoaded('.grid .tile img');
    await screenshot('attribute-bar.png', { x: 0, y: 0, width: 1280, height: 520 });

    // A preset is one click away and joins the combination.
    await page.click('[data-preset="contrast"]');
    await page.waitForSelector('[data-preset="contrast"].on');
    expect(await page.locator('.chip[data-attribute]').count()).toBe(3);
    await page.click('[data-preset="contrast"]');
    await page.waitForSelector('[data-preset="contrast"]:not(.on)');
    await setRange('.threshold input[type="range"]', 0);
    await page.waitForSelector(`.grid[data-count="${PHOTOS}"]`);
  });

  it('culls with P, X, 3 and 6 into SQLite, ignores keys while typing, and undoes with Ctrl+Z', async () => {
    const [a, b, c, d, e, f] = await tileIds();
    await page.keyboard.press('Home');
    await page.keyboard.press('p');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('x');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('3');
    await page.keyboard.press('6');
    await expect.poll(() => row(c)).toEqual({ rating: 3, flag: 0, label: 'red' });
    expect(row(a)).toEqual({ rating: 0, flag: 1, label: null });
    expect(row(b)).toEqual({ rating: 0, flag: -1, label: null });
    await page.waitForSelector(`.tile[data-id="${a}"] .flag.pick`);
    await page.waitForSelector(`.tile[data-id="${b}"] .flag.reject`);
    await page.waitForSelector(`.tile[data-id="${c}"] .label.label-red`);

    // Typing in a text field must not cull: "x" goes into the search box. The later "5" proves
    // ordering: had "x" fired, its edit would have reached the database first.
    await page.click('#search-input');
    await page.keyboard.press('x');
    expect(await page.inputValue('#search-input')).toBe('x');
    await page.keyboard.press('Escape');
    await page.fill('#search-input', '');
    await page.keyboard.press('Escape');
    await page.keyboard.press('5');
    await expect.poll(() => row(c).rating).toBe(5);
    expect(row(c)).toEqual({ rating: 5, flag: 0, label: 'red' });

    await page.keyboard.press('Control+z'); // 5 stars → 3
    await expect.poll(() => row(c).rating).toBe(3);
    await page.keyboard.press('Control+z'); // red label → none
    await expect.poll(() => row(c).label).toBeNull();
    await page.keyboard.press('Control+z'); // 3 stars → 0
    await expect.poll(() => row(c)).toEqual({ rating: 0, flag: 0, label: null });
    await page.keyboard.press('Control+Shift+z'); // redo: 3 stars again
    await expect.poll(() => row(c).rating).toBe(3);
    expect(row(a).flag).toBe(1);
    expect(row(b).flag).toBe(-1);

    // A few more edits so the grid screenshot shows every kind of mark.
    await page.click(`.tile[data-id="${d}"]`);
    await page.keyboard.press('4');
    await page.keyboard.press('8');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('p');
    await page.keyboard.press('5');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('9');
    await page.keyboard.press('2');
    await expect.poll(() => row(f)).toEqual({ rating: 2, flag: 0, label: 'blue' });
    expect(row(d)).toEqual({ rating: 4, flag: 0, label: 'green' });
    expect(row(e)).toEqual({ rating: 5, flag: 1, label: null });
    await page.keyboard.press('Home');
    await imagesLoaded('.grid .tile img');
    await screenshot('grid.png');
  });

  it('keeps the grid virtual: big tiles render only the rows in view', async () => {
    await setRange('.toolbar .zoom input', 420);
    await page.waitForFunction(() => Number(document.querySelector('.grid')?.getAttribute('data-columns')) <= 3);
    const rendered = (await tiles()).length;
    expect(rendered).toBeLessThan(PHOTOS);
    await page.$eval('.grid', (el) => (el.scrollTop = el.scrollHeight));
    await page.waitForSelector(`.tile[data-index="${PHOTOS - 1}"]`);
    expect(await page.locator('.tile[data-index="0"]').count()).toBe(0);
    await setRange('.toolbar .zoom input', 180);
    await page.keyboard.press('Home');
    await page.waitForSelector('.tile[data-index="0"]');
  });

  it('opens the loupe with the full-size photo and each attribute’s score', async () => {
    const [first, second] = await tileIds();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    const loupe = page.locator('[data-testid="loupe"]');
    await loupe.waitFor();
    expect(await loupe.getAttribute('data-id')).toBe(String(first));
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="loupe"] .stage img');
      return !!img && img.complete && img.naturalWidth > 0;
    });
    expect(await page.locator('[data-testid="loupe"] .stage img.fit').getAttribute('src')).toContain(`/image/${first}`);
    await page.waitForSelector('[data-testid="loupe"][data-full="1"]');
    expect(await page.$eval('[data-testid="loupe"] .stage img.fit', (i) => (i as HTMLImageElement).naturalWidth)).toBe(720); // smaller than the screen: the original itself

    // explain() → one bar per attribute, matching the library.
    const explained = await library.explain(first, 'bright vs dark + 0.5*colorful vs dull');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="score-bars"] [data-section="active"] li').length === 2);
    for (const [label, v] of Object.entries(explained)) {
      expect(await page.locator(`[data-testid="score-bars"] [data-section="active"] li[data-attribute="${label}"] .lab .mono`).innerText()).toBe(v.toFixed(2));
    }
    // …and every preset's, as library.explainAll gives them.
    const presets = await library.explainAll(first);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="score-bars"] [data-section="preset"] li').length === n, Object.keys(presets).length);
    for (const [label, v] of Object.entries(presets)) {
      // A signal without a value: the faces analyzer found no face (these generated photos have none).
      const want = Number.isFinite(v) ? v.toFixed(2) : label.endsWith('(faces)') ? 'no face' : 'not measured yet';
      expect(await page.locator(`[data-section="preset"] li[data-attribute="${label}"] .lab .mono`).innerText()).toBe(want);
    }
    await page.keyboard.press('z');
    await page.waitForSelector('.stage.zoom100');
    await page.keyboard.press('z');
    await page.waitForSelector('.stage:not(.zoom100)');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${second}"]`);
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${first}"]`);
    await page.waitForSelector('[data-testid="loupe"][data-full="1"]'); // the photo's own preview decoded and shown
    await screenshot('loupe.png');
    // The last photo's decisions came from Lightroom's sidecar: its source is shown, in the loupe and the tile's tooltip.
    const last = String((app.db.prepare("SELECT id FROM photos WHERE path LIKE '%DSC_1030.jpg'").get() as { id: number }).id);
    for (let i = 0; i <= PHOTOS && (await page.locator('[data-testid="loupe"]').getAttribute('data-id')) !== last; i++) {
      await page.keyboard.press('ArrowRight');
      await page.waitForTimeout(30);
    }
    await page.waitForSelector(`[data-testid="loupe"][data-id="${last}"] [data-testid="outside"]`);
    expect(await page.locator('[data-testid="outside"]').innerText()).toBe('sidecar DSC_1030.xmp, 2024-05-04: ★★, label Blue — taken');
    await page.keyboard.press('Escape');
    await page.waitForSelector(`.tile[data-id="${last}"]`);
    expect(await page.locator(`.tile[data-id="${last}"]`).getAttribute('title')).toContain('From another application: sidecar DSC_1030.xmp');
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${first}"]`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('.grid');
  });

  it('compares three selected photos side by side, and culls the active one', async () => {
    const ids = await tileIds();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('c');
    await page.waitForSelector('[data-testid="compare"]');
    expect(await page.$$eval('[data-testid="compare"] .cell', (els) => els.map((e) => Number((e as HTMLElement).dataset.id)))).toEqual(ids.slice(0, 3));
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="compare"] img')).every((i) => i.complete && i.naturalWidth > 0));
    await page.keyboard.press('ArrowLeft'); // active: the second photo
    await page.keyboard.press('4');
    await expect.poll(() => row(ids[1]).rating).toBe(4);
    await screenshot('compare.png');
    await page.keyboard.press('Control+z');
    await expect.poll(() => row(ids[1]).rating).toBe(0);
    await page.keyboard.press('Escape');
    await page.waitForSelector('.grid');
  });

  it('lists the shortcuts on ? and closes on Esc', async () => {
    await page.keyboard.press('?');
    const help = page.locator('[data-testid="help"]');
    await help.waitFor();
    const text = await help.innerText();
    for (const s of ['Pick', 'Reject', 'Undo', 'Compare', 'Red label']) expect(text).toContain(s);
    await screenshot('help.png');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
  });

  it('exports the top 5 of the current order with a CSV report', async () => {
    const top5 = (await tileIds()).slice(0, 5);
    const dest = path.join(app.tmp, 'export', 'selects');
    fs.mkdirSync(dest, { recursive: true }); // the server exports into an existing folder
    await page.click('.toolbar button.export');
    const dialog = page.locator('[data-testid="export-dialog"]');
    await dialog.waitFor();
    await page.check('input[type="radio"][value="topN"]');
    await page.fill('input[aria-label="Number of photos"]', '5');
    await page.fill('#export-to', dest);
    expect(await page.locator('[data-testid="export-count"] strong').innerText()).toBe('5');
    await screenshot('export.png');
    await page.click('#export-start');
    const summary = page.locator('[data-testid="export-summary"]');
    await summary.waitFor();
    expect(await summary.innerText()).toContain(dest);

    const names = await Promise.all(top5.map(async (id) => (await library.photo(id))!.name));
    for (const name of names) expect(fs.existsSync(path.join(dest, name)), name).toBe(true);
    expect(fs.readdirSync(dest).filter((f) => f.endsWith('.jpg')).sort()).toEqual([...names].sort());
    const report = fs.readFileSync(path.join(dest, 'cull-report.csv'), 'utf8');
    for (const name of names) expect(report).toContain(name);
    await page.click('[data-testid="export-summary"] button.primary');
    await dialog.waitFor({ state: 'detached' });
  });

  it('ran without page errors or CSP violations', () => {
    // The one expected failure: the parse-error test's "just some words" (400 invalid-argument).
    expect(pageErrors.filter((e) => !/\/api\/parseQuery \["just some words"\]/.test(e) && !/status of 400/.test(e))).toEqual([]);
    expect(pageErrors.filter((e) => /status of 400/.test(e))).toHaveLength(1);
  });
});
