// `cull faces PHOTO`: the faces the faces analyzer found in one photo (box, eye state and why,
// eyelid openings, face focus, smile), and the faces lines `cull explain` adds. Registered on the main
// program by electron/cli.ts; the library opening and the table/JSON printing are cli/context.ts's.
import type { Command } from 'commander';
import type { PhotoFaces } from '../../common/types.ts';
import type { FaceRow } from '../../db/faces.ts';
import { describeFaces } from '../services/signals/faces.ts';
import { table, terminalSafe } from './format.ts';
import type { Cli } from './context.ts';

const num = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));
const pct = (x: number) => `${Math.round(x * 100)}`;

export function facesTable(faces: FaceRow[]): string {
  return table(faces, [
    { header: '#', value: (f) => String(f.index + 1), align: 'right' },
    { header: 'size', value: (f) => `${f.px} px`, align: 'right' },
    { header: 'where (% of width, height)', value: (f) => `x ${pct(f.box.x)}–${pct(f.box.x + f.box.w)}, y ${pct(f.box.y)}–${pct(f.box.y + f.box.h)}` },
    { header: 'eyes', value: (f) => (f.eyes.state === 'unknown' ? "can't tell" : f.eyes.state) },
    { header: 'opening L/R', value: (f) => `${num(f.eyes.left)} / ${num(f.eyes.right)}` },
    { header: 'focus', value: (f) => num(f.sharpness), align: 'right' },
    { header: 'smile', value: (f) => num(f.smile), align: 'right' },
    { header: 'conf.', value: (f) => num(f.confidence), align: 'right' },
    { header: 'why', value: (f) => f.eyes.reason ?? '' },
  ]);
}

/** The human lines about a photo's faces (for `cull faces` and `cull explain`). */
export function facesLines(result: PhotoFaces & { faces: FaceRow[] }): string[] {
  const words = `Faces: ${describeFaces(result.analyzed, result.faces)}`;
  return result.faces.length ? [words, facesTable(result.faces)] : [words];
}

export function registerFacesCommands(program: Command, { withLibrary, print }: Cli): void {
  program
    .command('faces')
    .description('the faces found in one photo: where, eyes open / closed / can\'t tell (and why), face focus, smile')
    .argument('<photo>', 'path, file name or #id')
    .action(async (ref: string) => {
      await withLibrary(async (lib) => {
        const photo = await lib.resolvePhoto(ref);
        const result = (await lib.photoFaces({ id: photo.id })) as PhotoFaces & { faces: FaceRow[] };
        print({ path: photo.path, ...result }, () => [terminalSafe(photo.path), ...facesLines(result)].join('\n'));
      }, { catalog: true }); // needs no CLIP model
    });
}
