// Renders build/icon.svg to build/icon.png (1024², what electron-builder turns into .icns/.ico)
// and build/icons/<size>x<size>.png for Linux. Run: tsx build/make-icon.ts
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const DIR = path.dirname(fileURLToPath(import.meta.url));
const LINUX_SIZES = [512, 256, 128, 64, 32, 16];

export async function makeIcons(dir = DIR): Promise<string[]> {
  const svg = fs.readFileSync(path.join(dir, 'icon.svg'));
  const render = (size: number, file: string) =>
    sharp(svg, { density: Math.ceil((72 * size) / 1024) })
      .resize(size, size)
      .png({ compressionLevel: 9, palette: true, quality: 90 })
      .toFile(file)
      .then(() => file);
  fs.mkdirSync(path.join(dir, 'icons'), { recursive: true });
  return Promise.all([
    render(1024, path.join(dir, 'icon.png')),
    ...LINUX_SIZES.map((s) => render(s, path.join(dir, 'icons', `${s}x${s}.png`))),
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeIcons().then((files) => {
    for (const f of files) console.log(`${path.relative(process.cwd(), f)} ${fs.statSync(f).size} bytes`);
  });
}
