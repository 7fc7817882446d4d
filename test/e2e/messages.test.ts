// End-to-end, the window's messages (issue 15, item 14): the built renderer in Debian's Chromium
// against the real server and a real library. Each case a photographer meets is driven through the
// window and its wording asserted: what happened (the path named), what to do, in words — never a
// parameter name ("options.to"), never the message repeated as its own hint. The folder field
// expands ~; the export dialog names a missing, unusable or forbidden destination, a bad report, a
// full, read-only or write-protected drive (real tmpfs mounts and a real write-protected folder when
// this machine allows them, skipped with a message when not), a missing original and a damaged JPEG.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backToGrid, chromiumStatus, closeAll, makeBursts, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();
const PHOTOS = 2 * 3 + 2;

/** Runs a system command; false (with the reason printed once) when this machine does not allow it. */
function tryRun(cmd: string, args: string[], why: string): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
    return true;
  } catch (err) {
    console.warn(`[e2e] messages: ${why} skipped: \`${cmd} ${args.join(' ')}\` failed (${String((err as Error).message).split('\n')[0]}); it needs root with mount rights.`);
    return false;
  }
}

/** A message shown as the photographer sees it: no parameter names, the hint not a repeat of the message. */
function expectPlainWords(e: { message: string; hint: string }, named?: string): void {
  const all = `${e.message}\n${e.hint}`;
  expect(all).not.toMatch(/options\.|\bto:|report's folder:|folder: |\[\d+\]|must be an absolute|ENOSPC|EROFS|EACCES|EPERM|ENOENT|copyfile/);
  expect(e.hint, e.message).not.toBe('');
  expect(e.message.toLowerCase()).not.toContain(e.hint.toLowerCase());
  expect(e.hint.toLowerCase()).not.toContain(e.message.toLowerCase());
  expect(e.hint).not.toBe('Check what you typed and try again.');
  if (named) expect(e.message).toContain(named);
}

describe.skipIf(!chromium.available)('Messages in the window (real server, real library)', () => {
  let app: RunningApp;
  let page: Page;
  /** The test's temp folder, and HOME while it runs. */
  let tmp: string;
  let home: string | undefined;
  let singles: string[] = [];
  const pageErrors: string[] = [];
  const mounts: string[] = [];

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-messages-', (dir) => makeBursts(path.join(dir, 'Pictures'), { scenes: 2, frames: () => 3, singles: 2 }));
    tmp = folder.tmp;
    home = process.env.HOME;
    process.env.HOME = tmp; // the server runs in this process: ~ is tmp here
    singles = folder.made.singles;
    app = await startApp(folder, pageErrors, { roots: [path.join(tmp, 'Pictures')], httpErrors: false }); // refused calls are the point here
    page = app.page;
    await page.waitForSelector(`.grid[data-count="${PHOTOS}"] .tile`);
  });

  beforeEach(() => backToGrid(page));

  afterAll(async () => {
    for (const m of mounts.reverse()) tryRun('umount', [m], 'unmounting');
    process.env.HOME = home;
    await closeAll(app);
  });

  /** The last error toast: its message and hint. */
  async function lastToast(): Promise<{ message: string; hint: string }> {
    const toast = page.locator('[data-testid="toast"]').last();
    await toast.waitFor();
    const message = await toast.locator('.msg').innerText();
    const hint = (await toast.locator('.hint').count()) ? await toast.locator('.hint').innerText() : '';
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    return { message, hint };
  }

  async function addFolder(typed: string): Promise<void> {
    await page.fill('#folder-input', typed);
    await page.press('#folder-input', 'Enter');
  }

  type Outcome = { error: { message: string; hint: string } } | { summary: string };

  /** Exports every photo shown to what is typed as the destination, as a photographer would. */
  async function exportTo(to: string, opts: { create?: boolean; report?: string } = {}): Promise<Outcome> {
    await page.click('.toolbar button.export');
    const dialog = page.locator('[data-testid="export-dialog"]');
    await dialog.waitFor();
    await page.check('input[type="radio"][value="all"]');
    await page.fill('#export-to', to);
    if (opts.create === false) await page.uncheck('#export-create');
    if (opts.report !== undefined) await page.fill('#export-report', opts.report);
    await page.click('#export-start');
    const outcome = page.locator('.error-box, [data-testid="export-summary"]');
    await outcome.waitFor();
    let result: Outcome;
    if (await page.locator('.error-box').count()) {
      const message = await page.locator('.error-box .error-text').innerText();
      const hintEl = page.locator('[data-testid="export-error-hint"]');
      result = { error: { message, hint: (await hintEl.count()) ? await hintEl.innerText() : '' } };
      await page.keyboard.press('Escape');
    } else {
      result = { summary: await page.locator('[data-testid="export-summary"]').innerText() };
      await page.click('[data-testid="export-summary"] button.primary');
    }
    await dialog.waitFor({ state: 'detached' });
    return result;
  }

  const errorOf = (o: Outcome) => {
    if (!('error' in o)) throw new Error(`expected an error, got the summary:\n${o.summary}`);
    return o.error;
  };
  const summaryOf = (o: Outcome) => {
    if (!('summary' in o)) throw new Error(`expected a summary, got the error:\n${o.error.message}\n${o.error.hint}`);
    return o.summary;
  };

  it('the folder field: ~/Pictures accepted, a missing folder, a relative path and the home folder refused in words', async () => {
    await addFolder('~/Pictures');
    await expect.poll(() => page.inputValue('#folder-input')).toBe(''); // added (it was already a library folder)
    expect(await page.locator(`[data-root="${path.join(tmp, 'Pictures')}"]`).count()).toBe(1);
    expect(await page.locator('[data-testid="toast"]').count()).toBe(0);

    await addFolder('~/Nowhere');
    const missing = await lastToast();
    expectPlainWords(missing, `The folder ${path.join(tmp, 'Nowhere')} does not exist`);
    expect(missing.hint).toMatch(/Check the spelling/);

    await addFolder('Pictures');
    const relative = await lastToast();
    expectPlainWords(relative, '"Pictures" is not a full path');
    expect(relative.hint).toMatch(/start it with ~/);

    await addFolder('~');
    const own = await lastToast();
    expectPlainWords(own, `${tmp} is your home folder`);
    expect(own.hint).toMatch(/the folder that holds your photos/);
    await page.fill('#folder-input', '');
  });

  it('K and S outside a stack say why nothing happened and what to press instead', async () => {
    const single = (app.db.prepare('SELECT id FROM photos WHERE path = ?').pluck().get(singles[0]) as number);
    await page.click(`.tile[data-id="${single}"]`);
    await page.keyboard.press('k');
    const off = await lastToast();
    expectPlainWords(off, 'Stacks are off, so K has nothing to keep or reject');
    expect(off.hint).toContain('Shift+S');
    await page.keyboard.press('s');
    const offS = await lastToast();
    expectPlainWords(offS, 'Stacks are off');
    expect(offS.hint).toContain('Shift+S');

    await page.keyboard.press('Shift+S');
    await page.waitForSelector('.tile.stacked'); // the bursts folded
    await page.click(`.tile[data-id="${single}"]`);
    await page.keyboard.press('k');
    const none = await lastToast();
    expectPlainWords(none, 'This photo is not in a stack, so K has nothing to keep or reject');
    expect(none.hint).toMatch(/Move to a stack/);
    await page.keyboard.press('Shift+S');
  });

  it('the taste panel’s error goes once a new decision is made', async () => {
    await page.click('#taste-fit'); // no decisions of the photographer's yet: nothing to learn from
    const error = page.locator('[data-testid="taste-error"]');
    await error.waitFor();
    expect(await error.innerText()).not.toMatch(/options\.|Check what you typed/);
    const id = (app.db.prepare('SELECT id FROM photos ORDER BY id LIMIT 1').pluck().get() as number);
    await page.click(`.tile[data-id="${id}"]`);
    await page.keyboard.press('p');
    await error.waitFor({ state: 'detached' });
    await page.keyboard.press('Control+z');
    await expect.poll(() => app.db.prepare('SELECT flag FROM photos WHERE id = ?').pluck().get(id)).toBe(0);
  });

  it('export: a missing, unusable or forbidden destination and a bad report, each named with what to do', async () => {
    const missing = path.join(tmp, 'missing');
    const e1 = errorOf(await exportTo(missing, { create: false }));
    expectPlainWords(e1, `The destination folder ${missing} does not exist`);
    expect(e1.hint).toMatch(/Tick “Create the folder/);

    const deep = path.join(tmp, 'no', 'such');
    const e2 = errorOf(await exportTo(deep));
    expectPlainWords(e2, `Neither ${deep} nor its parent folder ${path.dirname(deep)} exists`);
    expect(e2.hint).toContain(`create ${path.dirname(deep)} first`);
    expect(fs.existsSync(path.dirname(deep))).toBe(false);

    const file = path.join(tmp, 'a file');
    fs.writeFileSync(file, 'not a folder');
    expectPlainWords(errorOf(await exportTo(file)), `${file} is a file, not a folder`);

    expectPlainWords(errorOf(await exportTo('/')), 'The destination folder / is the root of a disk');
    const system = errorOf(await exportTo('/etc/cull-selects'));
    expectPlainWords(system, 'The destination folder /etc/cull-selects is a system folder');
    expect(system.hint).toMatch(/a folder of your own/);

    expectPlainWords(errorOf(await exportTo('selects')), '"selects" is not a full path');

    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    const badReport = errorOf(await exportTo(out, { report: path.join(out, 'report.txt') }));
    expectPlainWords(badReport, 'The report report.txt is neither a .csv nor a .json file');
    const nowhere = path.join(tmp, 'nowhere');
    const noFolder = errorOf(await exportTo(out, { report: path.join(nowhere, 'report.csv') }));
    expectPlainWords(noFolder, `The report's folder ${nowhere} does not exist`);
    expect(noFolder.hint).not.toMatch(/Create the folder/); // ticking that creates the destination, not the report's folder
    expect(fs.readdirSync(out)).toEqual([]);

    // ~ expands in the export dialog too: the copies and the report land in the home folder's "selects".
    const done = summaryOf(await exportTo('~/selects'));
    expect(done).toContain(path.join(tmp, 'selects'));
    expect(fs.readdirSync(path.join(tmp, 'selects')).filter((n) => n.endsWith('.jpg'))).toHaveLength(PHOTOS);
    expect(fs.existsSync(path.join(tmp, 'selects', 'cull-report.csv'))).toBe(true);
  });

  it('export: a full drive, a read-only drive and a write-protected folder stop it, saying what was done and what to do', async () => {
    const full = path.join(tmp, 'small drive');
    fs.mkdirSync(full);
    if (tryRun('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], 'the full-drive case')) {
      mounts.push(full);
      const e = errorOf(await exportTo(full));
      expectPlainWords(e, `the drive holding ${full} is full`);
      expect(e.message).toMatch(new RegExp(`^Export stopped after \\d of ${PHOTOS} photos: `));
      expect(e.hint).toMatch(/^Free some space on it, or choose a folder on another drive, then export again/);
    }

    const readOnly = path.join(tmp, 'read-only drive');
    fs.mkdirSync(readOnly);
    if (tryRun('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', readOnly], 'the read-only-drive case')) {
      mounts.push(readOnly);
      const e = errorOf(await exportTo(readOnly));
      expectPlainWords(e, `Export stopped after 0 of ${PHOTOS} photos: ${readOnly} is on a read-only drive`);
      expect(e.hint).toMatch(/a drive you can write to/);
    }

    // Write-protected: permissions for anyone but root; root ignores them, so the folder is made
    // immutable instead (chattr +i), which refuses root as well.
    const locked = path.join(tmp, 'locked');
    fs.mkdirSync(locked);
    const asRoot = process.getuid?.() === 0;
    const lockedOk = asRoot ? tryRun('chattr', ['+i', locked], 'the write-protected case') : (fs.chmodSync(locked, 0o555), true);
    if (lockedOk) {
      try {
        const e = errorOf(await exportTo(locked));
        expectPlainWords(e, `Export stopped after 0 of ${PHOTOS} photos: Cull is not allowed to write into ${locked}`);
        expect(e.hint).toMatch(/give your account permission to write/);
      } finally {
        if (asRoot) tryRun('chattr', ['-i', locked], 'unlocking');
        else fs.chmodSync(locked, 0o755);
      }
    }
  });

  it('export: a missing original and a damaged JPEG are named in the summary with what to do', async () => {
    const [gone, damaged] = singles;
    const goneId = app.db.prepare('SELECT id FROM photos WHERE path = ?').pluck().get(gone) as number;
    const damagedId = app.db.prepare('SELECT id FROM photos WHERE path = ?').pluck().get(damaged) as number;
    // A pick: the copy would carry it in its own XMP, which a damaged JPEG cannot take.
    await page.click(`.tile[data-id="${damagedId}"]`);
    await page.keyboard.press('p');
    await expect.poll(() => app.db.prepare('SELECT flag FROM photos WHERE id = ?').pluck().get(damagedId)).toBe(1);
    const aside = `${gone}.aside`;
    fs.renameSync(gone, aside);
    // Damaged after indexing, size and time kept: a JPEG segment that runs past the end of the file.
    const bytes = fs.readFileSync(damaged);
    const st = fs.statSync(damaged);
    const original = Buffer.from(bytes);
    bytes.writeUInt16BE(0xffff, 4); // the first segment's length
    fs.writeFileSync(damaged, bytes);
    fs.utimesSync(damaged, st.atime, st.mtime);
    try {
      const summary = summaryOf(await exportTo(path.join(tmp, 'picks')));
      expect(summary).toContain(`${PHOTOS - 1} photos copied`);
      expect(summary).toContain(`${gone} — The original is gone: it was moved or deleted after indexing. Put it back, or index its folder again.`);
      expect(summary).toContain(`${damaged} was copied unchanged, without its decisions inside: the file looks damaged`);
      expect(summary).toMatch(/Open it in an image editor to check it/);
      expect(summary).not.toMatch(/ENOENT|options\./);
      expect(goneId).toBeGreaterThan(0);
    } finally {
      fs.renameSync(aside, gone);
      fs.writeFileSync(damaged, original);
      fs.utimesSync(damaged, st.atime, st.mtime);
      await page.click(`.tile[data-id="${damagedId}"]`);
      await page.keyboard.press('Control+z');
    }
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
