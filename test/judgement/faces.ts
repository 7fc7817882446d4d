// The faces analyzer's published figures (docs/judgement.md, "Faces"): every labelled photo of
// ../shared/faces (or DIR) through the real decode and FacesAnalyzer; closed-eye precision and
// recall with counts, the hard cases' outcomes, eye-state reliability by face size, and every
// photo it gets wrong. The rules for what counts are in ./faces-judge.ts.
//
//   npx tsx test/judgement/faces.ts [DIR] [--json out.json]
//
// Prints Markdown (the tables in docs/judgement.md); with --json, writes every face measured.
// The photos' licences allow measuring, not shipping: the report names files, it copies none.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { HELD_OUT_COVERS } from './occlude-heldout.ts';
import { coveredFaces, coveredFigures, FACES_DIR, faceFigures, faceFocusPairs, measureFacesDir, smileFigures, type PhotoOutcome } from './faces-judge.ts';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' } } });
const dir = positionals[0] ?? FACES_DIR;
if (!fs.existsSync(dir)) {
  console.error(`No labelled faces at ${dir}: pass the folder (the published figures use ../shared/faces).`);
  process.exit(2);
}
const all = await measureFacesDir(dir, (s) => console.error(s));
if (args.json) fs.writeFileSync(args.json, JSON.stringify(all, null, 1));
const f = faceFigures(all);
const focus = { 1: await faceFocusPairs(dir, 1), 2: await faceFocusPairs(dir, 2) };
const smile = smileFigures(all);
const rounds = [1, 2, 3, 4] as const;
const covered = coveredFigures(await coveredFaces(dir, (s) => console.error(s), ['sunglasses', 'hand', ...rounds.flatMap((k) => HELD_OUT_COVERS[k])]));
const round = (c: string) => {
  const k = rounds.find((k) => HELD_OUT_COVERS[k].includes(c as never));
  return k ? `held out, round ${k}` : 'first rules chosen on';
};
const fix2 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(2));

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(0)} %` : '–');
const states = (p: PhotoOutcome) =>
  p.faces.map((x) => (x.eyes.state === 'unknown' ? `can't tell (${x.eyes.reason})` : x.eyes.state) + ` [${x.eyes.left ?? '–'}/${x.eyes.right ?? '–'}, ${x.px} px]`).join('; ') || 'no face found';
const out: string[] = [];
out.push(
  `${all.length} labelled photos (${f.closed.photos} closed, ${f.open.photos} open, ${f.hard.photos} hard), ${f.faces.found} faces found of ${f.faces.expected} listed in SOURCES.tsv. A photo is "flagged closed" when at least one face is 'closed'.`,
  '',
  '| measure | count | rate |',
  '|---|---|---|',
  `| closed-eye recall (closed/ photos flagged) | ${f.closed.flagged} / ${f.closed.photos} | ${pct(f.closed.flagged, f.closed.photos)} |`,
  `| closed-eye precision (flagged photos that are closed/) | ${f.closed.flagged} / ${f.closed.flagged + f.open.flagged} | ${pct(f.closed.flagged, f.closed.flagged + f.open.flagged)} |`,
  `| open/ photos wrongly flagged closed | ${f.open.flagged} / ${f.open.photos} | ${pct(f.open.flagged, f.open.photos)} |`,
  `| hard/ photos with at least one "can't tell" | ${f.hard.cantTell} / ${f.hard.photos} | ${pct(f.hard.cantTell, f.hard.photos)} |`,
  `| hard/ photos where nobody's eyes are shut, wrongly flagged closed | ${f.hard.wronglyClosed.length} / ${f.hard.notClosedPhotos} | ${pct(f.hard.wronglyClosed.length, f.hard.notClosedPhotos)} |`,
  `| hard/ photos where some eyes are shut (or ambiguous), flagged closed | ${f.hard.flaggedAny.length} / ${f.hard.photos - f.hard.notClosedPhotos} | |`,
  '',
  'Eye state by face size (box side in working pixels; faces of the open/ and closed/ photos; "right" = the eyelid openings alone give the label, before the size rule):',
  '',
  '| face size | faces | right by opening | rate | "can\'t tell" by the rules |',
  '|---|---|---|---|---|',
  ...f.sizes.map((s) => `| ${s.bucket} | ${s.faces} | ${s.right} | ${pct(s.right, s.faces)} | ${s.unknownByRule} |`),
  '',
  '@face-focus against known blur (every open/ photo vs its working raster blurred by a Gaussian of σ working pixels; pairs where both have a face focus value):',
  '',
  '| blur | original\'s sharpest face scores higher | rate | no value | wrong on |',
  '|---|---|---|---|---|',
  ...([1, 2] as const).map((s) => `| σ ${s} px | ${focus[s].right} / ${focus[s].pairs} | ${pct(focus[s].right, focus[s].pairs)} | ${focus[s].noValue} | ${focus[s].wrong.join('; ') || '–'} |`),
  '',
  'Missed (closed/ photos not flagged):',
  '',
  ...all.filter((p) => f.closed.missed.includes(p.file)).map((p) => `- ${p.file}: ${states(p)}`),
  '',
  'False alarms (open/ photos flagged closed):',
  '',
  ...(f.open.falseAlarms.length ? all.filter((p) => f.open.falseAlarms.includes(p.file)).map((p) => `- ${p.file}: ${states(p)}`) : ['- none']),
  '',
  'Hard cases:',
  '',
  ...all.filter((p) => p.label === 'hard').map((p) => `- ${p.file} (${p.note}; expected ${p.expect}): ${states(p)}`),
  '',
  'Smile (the emotion model\'s "happy") against blinks: the laughing / squinting / grimacing hard photos, face by face (state [left/right opening] smile):',
  '',
  ...smile.laughing.map((p) => `- ${p.file} (${p.note}): ${p.faces.map((f) => `${f.state} [${f.left ?? '–'}/${f.right ?? '–'}] smile ${fix2(f.smile)}`).join('; ')}`),
  '',
  `Smiles of the faces read as closed in closed/ photos (${smile.closedSmiles.length}): ${smile.closedSmiles.map(fix2).join(' ')}`,
  '',
  'Candidate rule "a face read as closed with smile ≥ S is can\'t tell (laughing?)":',
  '',
  '| S | closed/ photos flagged | hard no-blink photos wrongly flagged | open/ photos flagged |',
  '|---|---|---|---|',
  `| (no rule) | ${f.closed.flagged} / ${f.closed.photos} | ${f.hard.wronglyClosed.length} / ${f.hard.notClosedPhotos} | ${f.open.flagged} / ${f.open.photos} |`,
  ...smile.rules.map((r) => `| ${r.minSmile} | ${r.closedFlagged} / ${r.closedPhotos} | ${r.hardWronglyClosed} / ${f.hard.notClosedPhotos} | ${r.openFlagged} / ${f.open.photos} |`),
  '',
  'Covered eyes (painted at measure time over every face ≥ 80 px with a mesh, of the open/ and closed/ photos; test/judgement/occlude.ts and occlude-heldout.ts), without and with the "eyes covered" and lash-line rules:',
  '',
  '| cover | set | faces | face no longer found | called closed without → with the rules (of them open/ faces) | called open without → with | "eyes covered" | "no lash line" | "lines like fingers" |',
  '|---|---|---|---|---|---|---|---|---|',
  ...covered.byCover.map((c) => `| ${c.cover} | ${round(c.cover)} | ${c.faces} | ${c.notFound} | ${c.closedBefore} → ${c.closedAfter} (${c.closedAfterOpen}) | ${c.openBefore} → ${c.openAfter} | ${c.saidCovered} | ${c.saidNoLash} | ${c.saidLineAcross} |`),
  '',
  `Unmodified faces whose verdict the rule changes: ${covered.plain.changed.length} of ${covered.plain.faces}${covered.plain.changed.length ? ': ' + covered.plain.changed.join('; ') : ''}.`,
  '',
  `Time per photo (analyzer only, after the decode): median ${median(all.map((p) => p.ms)).toFixed(0)} ms; with more than one face: median ${median(all.filter((p) => p.faces.length > 1).map((p) => p.ms)).toFixed(0)} ms.`,
);
console.log(out.join('\n'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}
