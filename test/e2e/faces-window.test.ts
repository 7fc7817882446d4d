// End-to-end, issue 11 in the window: Debian's Chromium against the real server and a real SQLite
// library of generated photos, driven by the keyboard. The focus-map overlay (M) lies on the photo
// at fit, at 100 % while panning and full screen; the "Out of focus" (Alt+F) and "Closed eyes"
// (Alt+E) filters show exactly the photos the library judges so; the loupe draws face boxes with
// eye states in words and says why; the faces view (F) shows every face at 100 %, and frame
// against frame in a survey. No real face is committed: face rows (and two technical rows, so that
// the photos' focus is known) are written into the server's library file through db/faces.ts and
// db/technical.ts (test/helpers/judged-rows.ts), as the analyzers would store them.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import { withLibraryFile, writeFaces, writeTechnical } from '../helpers/judged-rows.ts';
import { backToGrid, chromiumStatus, closeAll, focusNth as focusTile, makePhotos, pageTools, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();
const COUNT = 8;

describe.skipIf(!chromium.available)('Focus and faces in the window (Chromium, real server, real library)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  const pageErrors: string[] = [];
  /** Photo ids in the grid's order (capture time). */
  let ids: number[] = [];
  // The roles the written rows give: SOFT out of focus, SHARP in focus, BLINK with a closed eye
  // (two faces), OPEN (next to BLINK) with one face, eyes open, where BLINK's first face is.
  const SOFT = 1;
  const SHARP = 2;
  const BLINK = 5;
  const OPEN = 6;
  const faceA = { x: 0.2, y: 0.25, w: 0.16, h: 0.3 };
  const faceB = { x: 0.6, y: 0.3, w: 0.14, h: 0.26 };

  const focusNth = (i: number) => focusTile(page, ids, i);

  /** The overlay's rectangle against the rectangle the photo is drawn in (object-fit: contain). */
  function alignment(): Promise<{ overlay: DOMRect; image: { x: number; y: number; width: number; height: number } }> {
    return page.evaluate(() => {
      // The layer drawn for the zoom shown: the screen-sized rendition at fit, the full preview at 100 %.
      const zoom = document.querySelector('[data-testid="loupe"]')!.getAttribute('data-zoom');
      const img = document.querySelector<HTMLImageElement>(`[data-testid="loupe"] img.preview.${zoom === '100' ? 'full' : 'fit'}`)!;
      const r = img.getBoundingClientRect();
      const k = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
      const w = img.naturalWidth * k;
      const h = img.naturalHeight * k;
      const overlay = document.querySelector('[data-testid="focus-overlay"]')!.getBoundingClientRect();
      return { overlay: overlay.toJSON(), image: { x: r.x + (r.width - w) / 2, y: r.y + (r.height - h) / 2, width: w, height: h } };
    });
  }

  async function expectAligned(): Promise<void> {
    // The layer for this zoom is decoded (a full-screen stage asks for a larger rendition, loaded anew).
    await page.waitForFunction(() => {
      const zoom = document.querySelector('[data-testid="loupe"]')?.getAttribute('data-zoom');
      const img = document.querySelector<HTMLImageElement>(`[data-testid="loupe"] img.preview.${zoom === '100' ? 'full' : 'fit'}`);
      return !!img && img.complete && img.naturalWidth > 0;
    });
    const { overlay, image } = await alignment();
    expect(Math.abs(overlay.x - image.x)).toBeLessThan(1);
    expect(Math.abs(overlay.y - image.y)).toBeLessThan(1);
    expect(Math.abs(overlay.width - image.width)).toBeLessThan(1);
    expect(Math.abs(overlay.height - image.height)).toBeLessThan(1);
  }

  const gridIds = () => page.$$eval('.grid .tile', (tiles) => tiles.map((t) => Number(t.getAttribute('data-id'))).sort((a, b) => a - b));

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-faces-', (tmp) => makePhotos(path.join(tmp, 'Photos'), COUNT));
    app = await startApp(folder, pageErrors, {
      roots: [path.join(folder.tmp, 'Photos')],
      setup: async (library) => {
        const photos = await library.photos();
        expect(photos).toHaveLength(COUNT);
        ids = photos.sort((a, b) => a.takenAt! - b.takenAt!).map((p) => p.id);
        withLibraryFile(folder.dbPath, (db) => {
          writeTechnical(db, ids[SOFT], 0.2);
          writeTechnical(db, ids[SHARP], 0.9);
          writeFaces(db, ids[BLINK], [{ box: faceA, state: 'open', smile: 0.87 }, { box: faceB, state: 'closed' }]);
          writeFaces(db, ids[OPEN], [{ box: { ...faceA, x: 0.21 }, state: 'open' }]);
        });
      },
    });
    ({ page, library } = app);
    await page.waitForSelector(`.grid[data-count="${COUNT}"] .tile`);
  }, 240_000);

  beforeEach(() => backToGrid(page));

  afterAll(() => closeAll(app));

  it('toggles the focus map with M or its button, on the photo at fit, at 100 % while panning, and full screen', async () => {
    await focusNth(SOFT);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${ids[SOFT]}"][data-full="1"]`);
    expect(await page.locator('[data-testid="focus-overlay"]').count()).toBe(0);
    await page.keyboard.press('m');
    await page.waitForSelector('[data-testid="focus-overlay"]');
    // Every tile has a value; the sharp top-left quarter is drawn as sharp, the rest as soft.
    expect(await page.getAttribute('[data-testid="focus-overlay"]', 'data-cells')).toBe('256');
    expect(await page.locator('[data-testid="focus-overlay"] rect[data-band="sharp"]').count()).toBe(64);
    expect(await page.locator('[data-testid="focus-overlay"] rect[data-band="soft"]').count()).toBe(192);
    expect(await page.innerText('[data-testid="focus-legend"]')).toMatch(/sharp .*fair .*soft \(hatched\).*sharpest region soft \(focus 0\.20\): out of focus/);
    await expectAligned();
    await pageTools(page).screenshot('focus-map-fit.png');

    // 100 %: the overlay is the image's size in device pixels and moves with it when panned.
    await page.keyboard.press('z');
    await page.waitForSelector('[data-testid="loupe"][data-zoom="100"][data-full="1"]'); // the full preview decoded, not just asked for
    await expectAligned();
    const natural = await page.$eval('[data-testid="loupe"] img.full', (img) => (img as HTMLImageElement).naturalWidth / window.devicePixelRatio);
    expect(Math.abs((await alignment()).overlay.width - natural)).toBeLessThan(1);
    await page.$eval('[data-testid="loupe"] .scroller', (s) => {
      s.scrollLeft = 40;
      s.scrollTop = 30;
    });
    await expectAligned();

    // Full screen, back at fit.
    await page.keyboard.press('z');
    await page.keyboard.press('l');
    await page.waitForSelector('.loupe.fullscreen');
    await expectAligned();
    await page.keyboard.press('m');
    await page.waitForSelector('[data-testid="focus-overlay"]', { state: 'detached' });
    await page.keyboard.press('Escape'); // leave full screen
    await page.click('[data-testid="focus-map-toggle"]');
    await page.waitForSelector('[data-testid="focus-overlay"]');
    expect(await page.getAttribute('[data-testid="focus-map-toggle"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press('m');
    await page.waitForSelector('[data-testid="focus-overlay"]', { state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  it('shows exactly the out-of-focus photos with Alt+F, and all again with Alt+F', async () => {
    const judged = await library.problems();
    expect(judged.outOfFocus).toContain(ids[SOFT]);
    expect(judged.outOfFocus).not.toContain(ids[SHARP]);
    await page.keyboard.press('Alt+F');
    await page.waitForSelector(`.grid[data-count="${judged.outOfFocus.length}"]`);
    expect(await gridIds()).toEqual([...judged.outOfFocus].sort((a, b) => a - b));
    expect(await page.getAttribute('[data-issue="outOfFocus"]', 'aria-checked')).toBe('true');
    await page.keyboard.press('Alt+F');
    await page.waitForSelector(`.grid[data-count="${COUNT}"]`);
    expect(pageErrors).toEqual([]);
  });

  it('shows exactly the photos with closed eyes with Alt+E ("can\'t tell" and open eyes stay out)', async () => {
    await page.keyboard.press('Alt+E');
    await page.waitForSelector('.grid[data-count="1"]');
    expect(await gridIds()).toEqual([ids[BLINK]]);
    await pageTools(page).screenshot('closed-eyes-filter.png');
    await page.keyboard.press('Alt+A'); // all photos again
    await page.waitForSelector(`.grid[data-count="${COUNT}"]`);
    expect(await page.getAttribute('[data-issue="closedEyes"]', 'aria-checked')).toBe('false');
  });

  it('draws face boxes with eye states in words, says why, and shows every face at 100 % with F', async () => {
    await focusNth(BLINK);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${ids[BLINK]}"][data-full="1"]`);
    await page.waitForSelector('[data-testid="face-box"][data-state="closed"]');
    expect(await page.locator('[data-testid="face-box"]').count()).toBe(2);
    expect(await page.innerText('[data-testid="face-box"][data-state="closed"]')).toMatch(/eyes closed/);
    expect(await page.innerText('[data-testid="face-box"][data-state="open"]')).toMatch(/eyes open/);
    expect(await page.innerText('[data-testid="loupe-why"] [data-why="faces"]')).toBe('eyes closed: 1 of 2 faces');
    await pageTools(page).screenshot('face-boxes.png');
    await page.keyboard.press('b');
    await page.waitForSelector('[data-testid="face-box"]', { state: 'detached' });
    await page.keyboard.press('b');
    await page.waitForSelector('[data-testid="face-box"]');

    await page.keyboard.press('f');
    await page.waitForSelector('[data-testid="faces-view"][data-frames="1"] [data-testid="face-crop"] img');
    expect(await page.locator('[data-testid="face-crop"]').count()).toBe(2);
    expect(await page.innerText('[data-testid="faces-words"]')).toMatch(/eyes closed: 1 of 2 faces/);
    // 100 %: the photo inside each crop is drawn one image pixel per device pixel.
    const scale = await page.$$eval('[data-testid="face-crop"] img', (imgs) =>
      imgs.map((i) => (i as HTMLImageElement).getBoundingClientRect().width * window.devicePixelRatio / (i as HTMLImageElement).naturalWidth),
    );
    for (const s of scale) expect(s).toBeCloseTo(1, 2);
    expect(await page.innerText('[data-testid="face-crop"][data-state="closed"] figcaption')).toMatch(/eyes closed/);
    // The smile estimate where the analyzer gave one, nothing where it did not.
    expect(await page.innerText('[data-testid="face-crop"][data-state="open"] [data-testid="face-smile"]')).toBe('smile 0.87');
    expect(await page.locator('[data-testid="face-crop"][data-state="closed"] [data-testid="face-smile"]').count()).toBe(0);
    await pageTools(page).screenshot('faces-view.png');
    await page.keyboard.press('f'); // back to the loupe
    await page.waitForSelector('[data-testid="loupe"]');
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });

  it('lines the faces up frame against frame in a survey (C, then F), ←/→ choose the frame X rejects', async () => {
    await focusNth(BLINK);
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('c');
    await page.waitForSelector('[data-testid="compare"]');
    await page.keyboard.press('f');
    await page.waitForSelector('[data-testid="faces-view"][data-frames="2"] [data-testid="face-rows"][data-rows="2"] [data-testid="face-crop"] img');
    // Row 0: the person in both frames; row 1: the blinked face, absent from the second frame.
    const row = (k: number) => page.$$eval(`[data-testid="face-cell"][data-row="${k}"]`, (cells) => cells.map((c) => c.querySelector('[data-testid="face-crop"]')?.getAttribute('data-state') ?? 'none'));
    expect(await row(0)).toEqual(['open', 'open']);
    expect(await row(1)).toEqual(['closed', 'none']);
    await pageTools(page).screenshot('faces-survey.png');
    // ←/→ choose the frame P / X act on: the blinked one is rejected by key, then undone.
    expect(await page.getAttribute(`[data-testid="face-frame"][data-id="${ids[OPEN]}"]`, 'aria-pressed')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector(`[data-testid="face-frame"][data-id="${ids[BLINK]}"][aria-pressed="true"]`);
    await page.keyboard.press('x');
    await expect.poll(async () => (await library.photo(ids[BLINK]))!.flag).toBe(-1);
    expect((await library.photo(ids[OPEN]))!.flag).toBe(0);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await library.photo(ids[BLINK]))!.flag).toBe(0);
    await page.keyboard.press('Escape'); // back to the survey
    await page.waitForSelector('[data-testid="compare"]');
    await page.keyboard.press('Escape');
    expect(pageErrors).toEqual([]);
  });

  it('lists the new keys in the help overlay', async () => {
    await page.keyboard.press('?');
    const help = await page.innerText('[data-testid="help"]');
    for (const words of ['Focus map over the photo', 'Face boxes with eye state', 'Faces at 100 %', 'Show the out-of-focus photos', 'Show the photos with closed eyes']) {
      expect(help).toContain(words);
    }
    await page.keyboard.press('Escape');
  });
});
