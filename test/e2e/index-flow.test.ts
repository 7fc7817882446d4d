// End-to-end, indexing as a newcomer meets it (issue 15, item 11): the built renderer in Debian's
// Chromium against the real server, a real SQLite library and the tiny generated model. Adding a
// folder starts indexing without another click; each photo shows in the grid as soon as it is read,
// marked "not scored yet" (never a made-up score), while the progress says the embeddings are not
// all done; scores arrive in steps while the run goes on, unscored photos sorting last with a note;
// the final order is the library's. A folder added during a run is indexed right after it (no
// "busy" error); a cancelled run leaves its photos listed, the loupe stays on its photo, and
// Update index completes them. The run's pace is that of a real shoot: 260 photos (the window
// reloads about once a second, spaced by 4 × a reload's duration, at most 2 s since
// renderer/src/lib/refresh-pace.ts: before that cap, with 130 photos, a 7–10 s run in a clean-clone
// CI run once saw no reload land between the first scores and the end).
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import { backToGrid, chromiumStatus, closeAll, makeBursts, makePhotos, pageTools, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();
const PHOTOS = 260;

/** What the window shows, sampled every 50 ms by the page itself (a recorder in the test, not in the app). */
interface Sample {
  tiles: number;
  unscoredTiles: number;
  scoredTiles: number;
  running: boolean;
  embedded: number | null; // the Embedding line: done
  toEmbed: number | null; // … of total
  note: string | null; // "N not scored yet, shown last"
  toasts: number;
}

describe.skipIf(!chromium.available)('Indexing flow in Chromium (real server, real library)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  const pageErrors: string[] = [];
  const dirs = { shoot: '', later: '', queued: '', stopped: '' };
  const counts = { later: 0, queued: 0, stopped: 0 };

  const embeddedCount = () => app.db.prepare("SELECT COUNT(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE p.status = 'ok'").pluck().get() as number;
  const photoCount = () => app.db.prepare("SELECT COUNT(*) FROM photos WHERE status = 'ok'").pluck().get() as number;
  const samples = () => page.evaluate(() => (window as unknown as { __samples: Sample[] }).__samples);

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-index-', (tmp) => {
      dirs.shoot = path.join(tmp, 'Photos', 'Shoot');
      dirs.later = path.join(tmp, 'Photos', 'Later');
      dirs.queued = path.join(tmp, 'Photos', 'Queued');
      dirs.stopped = path.join(tmp, 'Photos', 'Stopped');
      fs.mkdirSync(dirs.shoot, { recursive: true });
      return Promise.all([
        makePhotos(dirs.shoot, PHOTOS),
        makeBursts(dirs.later, { scenes: 5, frames: () => 8, singles: 4, seedOffset: 11 }),
        makeBursts(dirs.queued, { scenes: 3, frames: () => 4, singles: 2, seedOffset: 23 }),
        makeBursts(dirs.stopped, { scenes: 8, frames: () => 8, singles: 6, seedOffset: 37 }),
      ]);
    });
    const [, later, queued, stopped] = folder.made;
    counts.later = later.bursts.flat().length + later.singles.length;
    counts.queued = queued.bursts.flat().length + queued.singles.length;
    counts.stopped = stopped.bursts.flat().length + stopped.singles.length;
    app = await startApp(folder, pageErrors);
    ({ page, library } = app);
    await page.waitForSelector('#folder-input');
  });

  beforeEach(() => backToGrid(page));

  afterAll(() => closeAll(app));

  /** Starts sampling what the window shows (cleared on each call). */
  async function record(): Promise<void> {
    await page.evaluate(() => {
      const w = window as unknown as { __samples: unknown[]; __timer?: number };
      if (w.__timer) clearInterval(w.__timer);
      w.__samples = [];
      const count = (sel: string) => document.querySelectorAll(sel).length;
      w.__timer = window.setInterval(() => {
        const line = document.querySelector('[data-testid="index-analyzers"] [data-analyzer^="clip:"] .mono')?.textContent ?? null;
        const m = line && /([\d,]+)\s*\/\s*([\d,]+)/.exec(line);
        w.__samples.push({
          tiles: count('.grid .tile'),
          unscoredTiles: count('.grid .tile [data-state="unscored"]'),
          scoredTiles: count('.grid .tile .score:not(.unscored)'),
          running: count('[data-testid="index-progress"][data-running="true"]') > 0,
          embedded: m ? Number(m[1].replace(/,/g, '')) : null,
          toEmbed: m ? Number(m[2].replace(/,/g, '')) : null,
          note: document.querySelector('[data-testid="unscored-note"]')?.textContent ?? null,
          toasts: count('[data-testid="toast"]'),
        });
      }, 50);
    });
  }

  async function addFolder(dir: string): Promise<void> {
    await page.fill('#folder-input', dir);
    await page.press('#folder-input', 'Enter');
    await page.waitForSelector(`[data-root="${dir}"]`);
  }

  it('adding a folder indexes it at once: photos show as they are read, "not scored yet", and scores follow', async () => {
    expect(await page.locator('.grid .empty').innerText()).toContain('indexing starts at once');
    // Ranking by an attribute before any photo is there: the grid sorts by score from the start.
    await page.fill('#attribute-input', 'bright vs dark');
    await page.press('#attribute-input', 'Enter');
    await page.waitForSelector('[data-attribute="bright vs dark"]');
    await record();

    await addFolder(dirs.shoot);
    // Indexing started with the add: no Index click (the button is replaced by Cancel while it runs).
    await page.waitForSelector('[data-testid="index-progress"][data-running="true"]');
    expect(await page.locator('#index-button').count()).toBe(0);
    // Tiles while the progress says not every photo is embedded, some marked "not scored yet":
    // one moment, read at once in the page.
    await page.waitForFunction(
      () => {
        const line = document.querySelector('[data-testid="index-analyzers"] [data-analyzer^="clip:"] .mono')?.textContent ?? '';
        const m = /([\d,]+)\s*\/\s*([\d,]+)/.exec(line);
        return (
          document.querySelectorAll('.grid .tile').length > 0 &&
          document.querySelectorAll('.grid .tile [data-state="unscored"]').length > 0 &&
          m !== null &&
          Number(m[1].replace(/,/g, '')) < Number(m[2].replace(/,/g, ''))
        );
      },
      undefined,
      { timeout: 60_000, polling: 20 },
    );
    expect(await page.locator('.grid .tile').first().locator('img').count()).toBe(1); // a thumbnail, before any embedding
    await page.waitForSelector('[data-testid="index-summary"]', { timeout: 120_000 });
    await expect.poll(() => page.locator('.grid .tile [data-state="unscored"]').count(), { timeout: 20_000 }).toBe(0);
    const seen = await samples();

    const during = seen.filter((s) => s.running && s.toEmbed !== null && s.embedded! < s.toEmbed);
    // Photos listed before their embeddings, never a score shown for them…
    expect(during.some((s) => s.tiles > 0 && s.unscoredTiles > 0)).toBe(true);
    // …scores arriving while the run went on, the unscored ones sorted last and said so…
    expect(during.some((s) => s.scoredTiles > 0 && s.unscoredTiles > 0)).toBe(true);
    expect(during.some((s) => s.note !== null && /\d+ not scored yet, shown last/.test(s.note))).toBe(true);
    // …and the grid grew in steps, not all at the end.
    const tileCounts = new Set(seen.filter((s) => s.running).map((s) => s.tiles + s.scoredTiles * 1000));
    expect(tileCounts.size).toBeGreaterThan(2);
    expect(seen.every((s) => s.toasts === 0)).toBe(true);

    // At the end: every photo scored, in exactly the library's order.
    expect(embeddedCount()).toBe(PHOTOS);
    expect(await page.locator('[data-testid="unscored-note"]').count()).toBe(0);
    await page.waitForSelector(`.grid[data-count="${PHOTOS}"] .tile`);
    const expected = (await library.score('bright vs dark')).map((r) => r.id);
    expect(expected).toHaveLength(PHOTOS);
    // The focus nobody chose followed the first photo: the view is at the top, in the library's order.
    const dom = await page.$$eval('.grid .tile', (els) => els.map((e) => [Number((e as HTMLElement).dataset.index), Number((e as HTMLElement).dataset.id)] as const));
    expect(dom.length).toBeGreaterThanOrEqual(10);
    expect(dom.map(([i]) => i)).toEqual(dom.map((_, k) => k));
    expect(dom.map(([, id]) => id)).toEqual(expected.slice(0, dom.length));
    expect(pageErrors).toEqual([]);
  });

  it('a folder added while indexing runs is indexed right after, with no "busy" message', async () => {
    await page.getByRole('button', { name: 'Clear', exact: true }).click(); // no ranking from here on
    await record();
    await addFolder(dirs.later);
    await page.waitForSelector('[data-testid="index-progress"][data-running="true"]');
    await addFolder(dirs.queued); // while the first one runs
    // Both end up listed and scored, one run after the other, without a click.
    await expect.poll(() => embeddedCount(), { timeout: 120_000 }).toBe(PHOTOS + counts.later + counts.queued);
    await page.waitForSelector('[data-testid="index-summary"]', { timeout: 60_000 });
    expect(photoCount()).toBe(PHOTOS + counts.later + counts.queued);
    expect((await samples()).every((s) => s.toasts === 0)).toBe(true);
    expect(await page.locator('[data-testid="toast"]').count()).toBe(0);
    await page.waitForSelector(`.grid[data-count="${PHOTOS + counts.later + counts.queued}"]`);
    expect(pageErrors).toEqual([]);
  });

  it('a cancelled run leaves its photos listed, "not scored yet"; Update index scores them under the open loupe', async () => {
    const before = PHOTOS + counts.later + counts.queued;
    // By folder, Z to A, small tiles: the "Stopped" folder's photos first, all of them in view.
    await page.selectOption('#sort-key', 'folder');
    await page.click('[aria-label="Toggle sort direction"]');
    await pageTools(page).slide('input[aria-label="Thumbnail size"]', 96);
    await page.keyboard.press('Escape'); // the keyboard back to the photos
    await addFolder(dirs.stopped);
    // As soon as the window lists a photo not scored yet, stop the run.
    await page.locator('.grid .tile [data-state="unscored"]').first().waitFor({ timeout: 60_000 });
    await page.click('#cancel-index');
    await page.waitForSelector('[data-testid="index-summary"]', { timeout: 60_000 });
    expect(await page.locator('[data-testid="index-summary"]').innerText()).toContain('Indexing cancelled');

    // What was read stays listed, part of it without an embedding: those tiles say so, no score.
    const listed = photoCount();
    expect(listed).toBeGreaterThan(before);
    expect(listed).toBeLessThan(before + counts.stopped);
    const unscored = app.db.prepare("SELECT p.id FROM photos p WHERE p.status = 'ok' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id) ORDER BY p.id").pluck().all() as number[];
    expect(unscored.length).toBeGreaterThan(0);
    expect(unscored.length).toBe(listed - embeddedCount());
    await expect.poll(() => page.locator('.grid .tile [data-state="unscored"]').count(), { timeout: 20_000 }).toBe(unscored.length);
    const id = unscored[0];
    await page.click(`.grid .tile[data-id="${id}"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${id}"] [data-testid="loupe-unscored"]`);
    expect(await page.locator('[data-testid="loupe-unscored"]').innerText()).toContain('Not scored yet');

    // Update index, the loupe still open: the run resumes, every photo of the folder is listed and
    // scored, and the loupe stays on its photo while its scores arrive.
    await page.click('#index-button');
    await expect.poll(() => embeddedCount(), { timeout: 120_000 }).toBe(before + counts.stopped);
    await page.waitForSelector('[data-testid="index-summary"]', { timeout: 60_000 });
    expect(photoCount()).toBe(before + counts.stopped);
    await expect.poll(() => page.locator('[data-testid="loupe-unscored"]').count(), { timeout: 20_000 }).toBe(0);
    expect(await page.getAttribute('[data-testid="loupe"]', 'data-id')).toBe(String(id));
    await page.keyboard.press('Escape');
    await page.keyboard.press('g');
    await expect.poll(() => page.locator('.grid .tile [data-state="unscored"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
