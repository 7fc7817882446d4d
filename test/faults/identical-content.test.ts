// Many files with one content (empty .jpg files, a folder of copies) cost near-linear time, and the
// CLI says how many are copies. The old lookup fetched every earlier row with the same fingerprint
// and checked each on disk: 2,500 empty files took 12 s, 10,000 took 169 s (ratio 14 for 4x files).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { REPO_DIR, tempDir } from '../helpers/fixtures.ts';

const run = promisify(execFile);
const CULL = path.join(REPO_DIR, 'bin', 'cull.js');

describe('identical content', () => {
  const dir = tempDir('cull-identical-');
  const modelDir = path.join(dir, 'model');
  const env = { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(dir, 'data') };
  const cull = (db: string, ...args: string[]) =>
    run(process.execPath, [CULL, '--db', path.join(dir, db), ...args], { env, maxBuffer: 1 << 26 });
  /** `cull --json index folder`, with the child's CPU seconds (user + system, from bash's `time`): steadier than wall time on a busy machine. */
  async function timedIndex(db: string, folder: string): Promise<{ summary: { seconds: number; failed: number; duplicates: number }; cpu: number }> {
    const cmd = `TIMEFORMAT='CPU %U %S'; time "$0" "$1" --db "$2" --json index "$3"`;
    const { stdout, stderr } = await run('bash', ['-c', cmd, process.execPath, CULL, path.join(dir, db), folder], { env, maxBuffer: 1 << 26 });
    const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr)!;
    return { summary: JSON.parse(stdout), cpu: Number(m[1]) + Number(m[2]) };
  }

  function emptyFiles(name: string, n: number): string {
    const folder = path.join(dir, name);
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(folder, `IMG_${String(i).padStart(5, '0')}.jpg`), '');
    return folder;
  }

  beforeAll(async () => {
    await makeTestModel({ out: modelDir, size: 'tiny', seed: 1 });
  });

  it('indexes 10,000 identical files in near-linear time and reports them as copies', async () => {
    const small = emptyFiles('small', 2500);
    const large = emptyFiles('large', 10_000);
    const { summary: a, cpu: cpuA } = await timedIndex('small.db', small);
    const { summary: b, cpu: cpuB } = await timedIndex('large.db', large);
    console.log(
      `identical empty files: 2,500 in ${a.seconds.toFixed(2)} s (CPU ${cpuA.toFixed(2)} s), ` +
        `10,000 in ${b.seconds.toFixed(2)} s (CPU ${cpuB.toFixed(2)} s); CPU ratio ${(cpuB / cpuA).toFixed(2)}`,
    );
    expect(a.failed).toBe(2500); // each one reported: an empty file is no photo
    expect(b.failed).toBe(10_000);
    expect(a.duplicates).toBe(2499);
    expect(b.duplicates).toBe(9999);
    // Linear would be at most 4x (less, with the fixed start-up), the old quadratic lookup 14x.
    expect(cpuB / cpuA).toBeLessThan(6);
    expect(b.seconds).toBeLessThan(90);

    const human = (await cull('small.db', 'index', small)).stdout;
    expect(human).toContain('2499 file(s) are copies of others');
  }, 600_000);
});
