// End-to-end, a stack's proposed best in the window (issue 11): Chromium against the real server
// and a real SQLite library of generated bursts. The frame the score puts first has a closed-eye
// face (a row written into the library file through db/faces.ts, as the faces analyzer stores
// it): the stack shows another frame on top — also past a frame the real technical analyzer
// measured as soft — the stack bar says why, K keeps that frame and rejects the blinked one, and F
// shows the stack's faces frame against frame.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import type { LibraryPhotoGroup } from '../../electron/services/culling/groups.ts';
import { withLibraryFile, writeFaces } from '../helpers/judged-rows.ts';
import { chromiumStatus, closeAll, makeBursts, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();

describe.skipIf(!chromium.available)('A stack passes over a blinked frame (Chromium, real server, real library)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  const pageErrors: string[] = [];
  let before: LibraryPhotoGroup;

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-stack-best-', (tmp) => makeBursts(path.join(tmp, 'Photos'), { scenes: 2, frames: () => 4, singles: 1 }));
    app = await startApp(folder, pageErrors, {
      roots: [path.join(folder.tmp, 'Photos')],
      setup: async (library) => {
        const groups = await library.groups();
        before = groups.reduce((m, g) => (g.ids.length > m.ids.length ? g : m));
        expect(before.ids.length).toBeGreaterThan(2);
        expect(before.why).toEqual([]);
        const face = { x: 0.4, y: 0.3, w: 0.15, h: 0.25 };
        withLibraryFile(folder.dbPath, (db) => {
          writeFaces(db, before.ids[0], [{ box: face, state: 'closed' }]);
          for (const id of before.ids.slice(1)) writeFaces(db, id, [{ box: face, state: 'open' }]);
        });
      },
    });
    ({ page, library } = app);
    await page.waitForSelector('.grid[data-count] .tile');
  }, 240_000);

  afterAll(() => closeAll(app));

  it('proposes the best eyes-open frame, says why, keeps it with K, and shows the faces frame against frame', async () => {
    const blinked = before.ids[0];
    // The library's proposal now: not the blinked frame, nor a frame the technical analyzer measured
    // as far softer than the stack's sharpest (makeBursts blurs every third frame).
    const after = (await library.groups()).find((g) => g.ids.includes(blinked))!;
    const next = after.bestId;
    expect(next).not.toBe(blinked);
    expect(after.why[0]).toMatch(/passed over: eyes closed: 1 of 1 face$/);
    await page.keyboard.press('Shift+S');
    await page.waitForSelector('.grid[data-stacks]:not([data-stacks=""])');
    // The collapsed stack shows the eyes-open frame; the blinked one is folded away.
    await page.waitForSelector(`.tile[data-id="${next}"]`);
    expect(await page.locator(`.tile[data-id="${blinked}"]`).count()).toBe(0);

    // Keyboard to the stack: Home, then right until it is focused.
    await page.keyboard.press('Home');
    for (let k = 0; k < 12 && (await page.getAttribute('.grid .tile.focused', 'data-id')) !== String(next); k++) await page.keyboard.press('ArrowRight');
    const why = await page.waitForSelector('[data-testid="stack-why"]');
    const blinkedName = (await library.photo(blinked))!.name;
    expect(await why.innerText()).toBe(after.why.join(' · '));
    expect(await why.innerText()).toContain(`${blinkedName} scores higher but is passed over: eyes closed: 1 of 1 face`);

    await page.keyboard.press('f');
    await page.waitForSelector(`[data-testid="faces-view"][data-frames="${before.ids.length}"] [data-testid="face-crop"] img`);
    const states = await page.$$eval('[data-testid="face-cell"][data-row="0"] [data-testid="face-crop"]', (c) => c.map((e) => e.getAttribute('data-state')));
    expect(states).toEqual(after.ids.map((id) => (id === blinked ? 'closed' : 'open'))); // best first, as the stack orders them
    await page.keyboard.press('Escape'); // back to the loupe
    await page.keyboard.press('Escape'); // back to the grid

    await page.keyboard.press('k');
    await expect.poll(async () => (await library.photo(blinked))!.flag).toBe(-1);
    expect((await library.photo(next))!.flag).toBe(0);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await library.photo(blinked))!.flag).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
