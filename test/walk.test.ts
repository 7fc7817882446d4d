import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintBuffer, fingerprintFile } from '../electron/services/indexing/fingerprint.ts';
import { fsPath, isPhotoFile, isRawFile, nameFromBytes, OUTSIDE_LINK, walkPhotos, type WalkItem } from '../electron/services/indexing/walk.ts';
import { REPO_DIR as REPO, tempDir } from './helpers/fixtures.ts';
import { isRoot, runAsNobody } from './helpers/nobody.ts';

async function collect(roots: string[], onItem?: (item: WalkItem) => void): Promise<WalkItem[]> {
  const items: WalkItem[] = [];
  for await (const item of walkPhotos(roots)) {
    items.push(item);
    onItem?.(item);
  }
  return items;
}

const files = (items: WalkItem[]) => items.filter((i) => i.kind === 'file').map((i) => i.path);
const errors = (items: WalkItem[]) => items.filter((i) => i.kind === 'error');

function touch(file: string | Buffer, content = 'x'): void {
  fs.mkdirSync(path.dirname(file.toString()), { recursive: true });
  fs.writeFileSync(file, content);
}

describe('walkPhotos', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('cull-walk-');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('knows photo and RAW extensions regardless of case', () => {
    for (const name of ['a.jpg', 'b.JPEG', 'c.Png', 'd.webp', 'e.TIF', 'f.tiff', 'g.avif', 'h.HEIC', 'i.heif', 'j.gif'])
      expect(isPhotoFile(name), name).toBe(true);
    for (const name of ['a.CR2', 'b.cr3', 'c.NEF', 'd.arw', 'e.dng', 'f.RAF', 'g.orf', 'h.rw2']) {
      expect(isPhotoFile(name), name).toBe(true);
      expect(isRawFile(name), name).toBe(true);
    }
    for (const name of ['a.txt', 'b.xmp', 'jpg', 'c.jpg.part', 'd.mov']) expect(isPhotoFile(name), name).toBe(false);
    expect(isRawFile('a.jpg')).toBe(false);
  });

  it('finds photos recursively, skipping hidden entries and other files', async () => {
    const root = path.join(dir, 'basic');
    for (const f of ['a.jpg', 'B.JPG', 'sub/c.png', 'sub/deeper/d.NEF', 'sub/e.txt', '.hidden.jpg', '.cache/f.jpg', 'sub/.git/g.jpg'])
      touch(path.join(root, f));
    const items = await collect([root]);
    expect(errors(items)).toEqual([]);
    expect(files(items).map((p) => path.relative(root, p)).sort()).toEqual(['B.JPG', 'a.jpg', 'sub/c.png', 'sub/deeper/d.NEF'].sort());
    const first = items[0];
    expect(first.kind === 'file' && first.size).toBe(1);
    expect(first.kind === 'file' && first.mtimeMs).toBe(first.kind === 'file' ? Math.round(fs.statSync(first.path).mtimeMs) : NaN);
  });

  it('follows symlinks inside the root once, never loops, and does not follow links out of the root', async () => {
    const root = path.join(dir, 'links');
    const outside = path.join(dir, 'outside');
    touch(path.join(root, 'real/a.jpg'));
    touch(path.join(outside, 'o.jpg'));
    fs.symlinkSync(root, path.join(root, 'real/loop')); // back to the root: a cycle
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'alias')); // second name for a folder
    fs.symlinkSync(outside, path.join(root, 'out')); // a folder outside the root
    fs.symlinkSync(path.join(root, 'real/a.jpg'), path.join(root, 'a-link.jpg')); // second name for a file
    fs.symlinkSync(path.join(root, 'nowhere.jpg'), path.join(root, 'dangling.jpg'));
    const items = await collect([root, root]); // the same root twice is walked once
    // Real paths win over links to the same file or folder; a folder link leading outside is not followed.
    expect(files(items).map((p) => path.relative(root, p)).sort()).toEqual(['real/a.jpg']);
    expect(errors(items)).toEqual([
      { kind: 'error', path: path.join(root, 'out'), reason: OUTSIDE_LINK },
      { kind: 'error', path: path.join(root, 'dangling.jpg'), reason: 'broken symbolic link' },
    ]);
  });

  it('keeps odd and non-UTF-8 names openable', async () => {
    const root = path.join(dir, 'names');
    const names = ['with space.jpg', 'ünïcödé.jpg', '日本語.png', 'emoji 📷.jpg', 'new\nline.jpg', "quote'\"s.jpg", 'U+EF80 \uef80.jpg'];
    names.forEach((n, i) => touch(path.join(root, n), `content ${i}`));
    // "café.jpg" in Latin-1: byte 0xE9 alone is not valid UTF-8.
    const latin1 = Buffer.concat([Buffer.from(root + '/caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]);
    touch(latin1, 'latin-1 content');
    const items = await collect([root]);
    expect(errors(items)).toEqual([]);
    const found = files(items);
    expect(found).toHaveLength(names.length + 1);
    for (const n of names.slice(0, -1)) expect(found).toContain(path.join(root, n));
    // A name really containing an escape-range character is itself escaped, so it still opens.
    expect(found).toContain(path.join(root, 'U+EF80 \uefee\uefbe\uef80.jpg'));

    const odd = found.find((p) => path.basename(p).startsWith('caf'))!;
    expect(odd).toBe(path.join(root, 'caf\uefe9.jpg')); // the byte kept as U+EF00 + byte
    expect(fsPath(odd)).toEqual(latin1);
    // The stored path survives SQLite and still opens the same file.
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (p TEXT)');
    db.prepare('INSERT INTO t VALUES (?)').run(odd);
    const back = db.prepare('SELECT p FROM t').pluck().get() as string;
    db.close();
    expect(back).toBe(odd);
    expect(fs.readFileSync(fsPath(back), 'utf8')).toBe('latin-1 content');
    for (const p of found) expect(fs.existsSync(fsPath(p)), p).toBe(true);
  });

  it('escapes only invalid bytes and round-trips every name', () => {
    const cases = [
      Buffer.from('plain.jpg'),
      Buffer.from('ünïcödé 📷.jpg'),
      Buffer.from([0x61, 0xe9, 0x62]), // lone Latin-1 byte
      Buffer.from([0xc3, 0xa9, 0xff, 0xfe, 0x80]), // valid é then invalid bytes
      Buffer.from([0xe6, 0x97, 0x2e]), // truncated 3-byte sequence
      Buffer.from([0xed, 0xa0, 0x80]), // encoded surrogate: invalid UTF-8
      Buffer.from('\uef80\uefff.jpg'), // valid UTF-8 in the escape range
    ];
    for (const bytes of cases) {
      const name = nameFromBytes(bytes);
      expect(name.includes('\ufffd')).toBe(false);
      const back = fsPath(name);
      expect(Buffer.from(back as string | Buffer)).toEqual(bytes);
    }
    expect(nameFromBytes(Buffer.from([0xc3, 0xa9, 0xff]))).toBe('é\uefff');
  });

  it('reports a missing root and carries on with the others', async () => {
    const good = path.join(dir, 'good');
    touch(path.join(good, 'a.jpg'));
    const missing = path.join(dir, 'does-not-exist');
    const items = await collect([missing, good]);
    expect(errors(items)).toEqual([{ kind: 'error', path: missing, reason: 'not found' }]);
    expect(files(items)).toEqual([path.join(good, 'a.jpg')]);
  });

  it('ignores a folder that disappears mid-walk', async () => {
    const root = path.join(dir, 'vanish');
    touch(path.join(root, 'a/1.jpg'));
    touch(path.join(root, 'b/2.jpg'));
    touch(path.join(root, 'b/c/3.jpg'));
    const items = await collect([root], (item) => {
      if (item.kind === 'file' && item.path.endsWith('1.jpg')) fs.rmSync(path.join(root, 'b'), { recursive: true });
    });
    expect(errors(items)).toEqual([]);
    expect(files(items)).toEqual([path.join(root, 'a/1.jpg')]);
  });

  // root ignores permissions, so the unreadable-folder case runs in a child process as "nobody".
  it('reports an unreadable folder and walks the rest', async () => {
    const root = tempDir('cull-walk-perm-');
    try {
      touch(path.join(root, 'open/a.jpg'));
      touch(path.join(root, 'locked/b.jpg'));
      touch(path.join(root, 'z.jpg'));
      fs.chmodSync(root, 0o755);
      fs.chmodSync(path.join(root, 'open'), 0o755);
      fs.chmodSync(path.join(root, 'locked'), 0o000);
      let items: WalkItem[];
      if (!isRoot) items = await collect([root]);
      else {
        const script = path.join(root, 'walk-child.mts');
        fs.writeFileSync(
          script,
          `import { walkPhotos } from ${JSON.stringify(path.join(REPO, 'electron/services/indexing/walk.ts'))};
           const out = [];
           for await (const item of walkPhotos([${JSON.stringify(root)}])) out.push(item);
           console.log(JSON.stringify(out));`,
        );
        fs.chmodSync(script, 0o644);
        console.log('running as root: walking as uid 65534 (nobody) so the chmod 000 folder is really unreadable');
        const child = runAsNobody(script, [], root);
        expect(child.stderr).toBe('');
        items = JSON.parse(child.stdout);
      }
      expect(errors(items)).toEqual([{ kind: 'error', path: path.join(root, 'locked'), reason: 'permission denied' }]);
      expect(files(items).sort()).toEqual([path.join(root, 'open/a.jpg'), path.join(root, 'z.jpg')]);
    } finally {
      fs.chmodSync(path.join(root, 'locked'), 0o755);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('fingerprint', () => {
  it('hashes size, head and tail, the same from disk and from memory', async () => {
    const dir = tempDir('cull-fp-');
    try {
      const big = Buffer.alloc(300_000, 7);
      const a = path.join(dir, 'a.bin');
      fs.writeFileSync(a, big);
      const fp = await fingerprintFile(a);
      expect(fp).toMatch(/^[0-9a-f]{64}$/);
      expect(fingerprintBuffer(big)).toBe(fp);
      // A change in the middle (outside head and tail) is not seen: this is a fast fingerprint.
      const middle = Buffer.from(big);
      middle[150_000] = 1;
      expect(fingerprintBuffer(middle)).toBe(fp);
      // Head, tail and size changes are.
      const head = Buffer.from(big);
      head[10] = 1;
      const tail = Buffer.from(big);
      tail[big.length - 10] = 1;
      for (const other of [head, tail, big.subarray(1)]) expect(fingerprintBuffer(other)).not.toBe(fp);
      // Small files (head and tail overlap) and empty files work too.
      fs.writeFileSync(path.join(dir, 'small'), 'abc');
      expect(await fingerprintFile(path.join(dir, 'small'))).toBe(fingerprintBuffer(Buffer.from('abc')));
      fs.writeFileSync(path.join(dir, 'empty'), '');
      expect(await fingerprintFile(path.join(dir, 'empty'))).toBe(fingerprintBuffer(Buffer.alloc(0)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
