// End-to-end on real faces, when ../shared/faces is present (it is not part of the repository: its
// licences allow measuring, not shipping; the files are indexed from a temp folder and no
// screenshot is kept). A few labelled photos are indexed by the real analyzers (CLIP test model,
// technical, faces) into a temp library; in Chromium, "Closed eyes" (Alt+E) shows exactly the
// photos the library judged so, the loupe draws as many boxes as the library found faces, with the
// same eye states, and the faces view (F) shows each at 100 %.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import { ROOT, chromiumStatus, closeAll, prepareApp, startApp, type RunningApp } from './helpers.ts';

const FACES = path.resolve(ROOT, '..', 'shared', 'faces');
const PICKED = [
  'closed/luna__closed_eyes.jpg',
  'closed/arash__eyes_closed.jpg',
  'closed/human__stock-emotions-b-4.jpg',
  'open/luna__girl_front_face.jpg',
  'open/human__person-celeste.jpg',
  'open/human__stock-teen-5.jpg',
];
const present = fs.existsSync(FACES) && PICKED.every((f) => fs.existsSync(path.join(FACES, f)));
if (!present) console.warn(`[e2e] faces on real photos skipped: ../shared/faces (${FACES}) with ${PICKED.join(', ')} is not here.`);
const chromium = present ? chromiumStatus() : { available: false };

describe.skipIf(!present || !chromium.available)('Closed eyes and the faces view on real face photos (../shared/faces)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  const pageErrors: string[] = [];
  let closedIds: number[] = [];

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-real-faces-', async (tmp) => {
      const photosDir = path.join(tmp, 'Faces');
      fs.mkdirSync(photosDir);
      // Into a temp folder for the run only (never into the repository); names keep their label.
      for (const f of PICKED) fs.copyFileSync(path.join(FACES, f), path.join(photosDir, f.replace('/', '__')));
      return photosDir;
    });
    app = await startApp(folder, pageErrors, {
      roots: [folder.made],
      setup: async (library) => {
        closedIds = (await library.problems()).closedEyes;
      },
    });
    ({ page, library } = app);
    await page.waitForSelector(`.grid[data-count="${PICKED.length}"] .tile`);
  }, 600_000);

  afterAll(() => closeAll(app));

  it('finds closed eyes in at least one labelled closed photo and none in the open ones', async () => {
    const names = await Promise.all(closedIds.map(async (id) => (await library.photo(id))!.name));
    expect(names.length, 'no photo judged "eyes closed"').toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^closed__/);
  });

  it('shows exactly those photos with Alt+E, with the library\'s faces and eye states in the loupe and the faces view', async () => {
    await page.keyboard.press('Alt+E');
    await page.waitForSelector(`.grid[data-count="${closedIds.length}"]`);
    const shown = await page.$$eval('.grid .tile', (tiles) => tiles.map((t) => Number(t.getAttribute('data-id'))));
    expect(shown.sort((a, b) => a - b)).toEqual([...closedIds].sort((a, b) => a - b));

    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    const id = Number(await (await page.waitForSelector('[data-testid="loupe"][data-full="1"]')).getAttribute('data-id'));
    const { faces } = await library.photoFaces({ id });
    await page.waitForSelector('[data-testid="face-box"]');
    const states = await page.$$eval('[data-testid="face-box"]', (boxes) => boxes.map((b) => b.getAttribute('data-state')));
    expect(states).toEqual(faces.map((f) => f.eyes.state));
    expect(states).toContain('closed');
    const closed = faces.filter((f) => f.eyes.state === 'closed').length;
    expect(await page.innerText('[data-testid="loupe-why"] [data-why="faces"]')).toContain(`eyes closed: ${closed} of ${faces.length} face`);

    await page.keyboard.press('f');
    await page.waitForSelector('[data-testid="faces-view"] [data-testid="face-crop"] img');
    expect(await page.locator('[data-testid="face-crop"]').count()).toBe(faces.length);
    const scale = await page.$$eval('[data-testid="face-crop"] img', (imgs) =>
      imgs.map((i) => ((i as HTMLImageElement).getBoundingClientRect().width * window.devicePixelRatio) / (i as HTMLImageElement).naturalWidth),
    );
    for (const s of scale) expect(s).toBeCloseTo(1, 2);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Alt+A');
    expect(pageErrors).toEqual([]);
  });
});
