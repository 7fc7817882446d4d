// The technical analyzer's published figures (docs/judgement.md): every photo of
// ../shared/photos/sample-shoot (or DIR) degraded by known amounts, each copy run through the real
// decode + TechnicalAnalyzer, then the share of pairs ordered correctly and the cross-photo AUCs.
//
//   npx tsx test/judgement/technical.ts [DIR] [--side 1500] [--only blur] [--json out.json]
//   npx tsx test/judgement/technical.ts --from out.json     (the report again from saved measures)
//
// Prints a Markdown report (the tables in docs/judgement.md) and, with --json, writes the raw
// figures and every photo's measures.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TechnicalAnalyzer, TECHNICAL_WORKING_SIDE } from '../../electron/services/indexing/analyzers/technical.ts';
import { crossFigures, loadRaw, measureImage, pairFigures, VARIANTS, type Scores } from './technical-judge.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { side: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' }, from: { type: 'string' } },
});
const dir = positionals[0] ?? path.resolve(import.meta.dirname, '../../../shared/photos/sample-shoot');
const saved = args.from ? (JSON.parse(fs.readFileSync(args.from, 'utf8')) as { side: number; measures: Record<string, Scores> }) : null;
if (!saved && !fs.existsSync(dir)) {
  console.error(`No photos at ${dir}: pass a folder of photos (the published figures use ../shared/photos/sample-shoot).`);
  process.exit(2);
}
const side = saved?.side ?? Number(args.side ?? TECHNICAL_WORKING_SIDE);
const analyzer = new TechnicalAnalyzer(side);
const only = (v: { kind: string; label: string }) => !args.only || v.kind === 'original' || v.kind.startsWith(args.only);
const files = saved ? Object.keys(saved.measures) : fs.readdirSync(dir).filter((f) => /\.(jpe?g|png|tiff?|webp)$/i.test(f)).sort();
const variants = VARIANTS.filter((v) => only(v) && (!saved || Object.values(saved.measures).every((s) => s[v.label])));

const all: Record<string, Scores> = saved ? revive(saved.measures) : {};
/** JSON wrote NaN as null. */
function revive(m: Record<string, Scores>): Record<string, Scores> {
  for (const s of Object.values(m)) for (const x of Object.values(s)) for (const [k, v] of Object.entries(x)) if (v === null) (x as unknown as Record<string, number>)[k] = NaN;
  return m;
}
const cpu: number[] = [];
for (const f of saved ? [] : files) {
  const raw = await loadRaw(f, path.join(dir, f));
  const t = process.cpuUsage();
  all[f] = await measureImage(raw, analyzer, variants);
  cpu.push((process.cpuUsage(t).user + process.cpuUsage(t).system) / 1000);
  console.error(`${f}: ${variants.length} versions, ${(cpu.at(-1)! / 1000).toFixed(1)} s CPU`);
}

const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) + ' %' : '–');
const pairs = pairFigures(all).filter((p) => variants.some((v) => v.label === p.variant));
const cross = crossFigures(all).filter((c) => c.against.every((a) => variants.some((v) => v.label === a)));
const out: string[] = [];
out.push(`${files.length} photos from ${path.basename(dir)}, working side ${side} px; amounts in pixels of a 1500 px rendering; "no value": pairs left out because a side has none (too little detail to tell focus).`, '');
out.push('| signal | degradation | original scores higher | rate | no value | wrong on |', '|---|---|---|---|---|---|');
for (const p of pairs) out.push(`| @${p.signal} | ${p.variant} | ${p.correct} / ${p.total} | ${pct(p.correct, p.total)} | ${p.noValue.length} | ${p.wrong.join(', ') || '–'} |`);
const sum = (sig: string) => pairs.filter((p) => p.signal === sig).reduce((a, p) => [a[0] + p.correct, a[1] + p.total], [0, 0]);
for (const sig of ['focus', 'clean', 'exposure']) {
  const [c, t] = sum(sig);
  if (t) out.push(`| @${sig} | all above | ${c} / ${t} | ${pct(c, t)} | | |`);
}
out.push('', '| signal | every original vs every other photo\'s | AUC | pairs wrong / pairs | no value | worst confusions |', '|---|---|---|---|---|---|');
for (const c of cross) out.push(`| @${c.signal} | ${c.against.join(' + ')} | ${c.auc.toFixed(3)} | ${c.wrongPairs} / ${c.pairs} | ${c.noValue} | ${c.worst.slice(0, 3).join('; ') || '–'} |`);
out.push('', '| photo | @focus | sharpness | motion | @clean | noise σ | @exposure | median | p99 | clipped % | blocked % |', '|---|---|---|---|---|---|---|---|---|---|---|');
for (const [f, s] of Object.entries(all)) {
  const m = s.original;
  const avg = (x: number[]) => ((100 * (x[0] + x[1] + x[2])) / 3).toFixed(1);
  out.push(`| ${f} | ${m.focus.toFixed(2)} | ${m.sharpness.toFixed(3)} | ${m.motion.toFixed(2)} | ${m.clean.toFixed(2)} | ${m.noiseSigma.toFixed(2)} | ${m.exposure.toFixed(2)} | ${m.lumaMedian} | ${m.lumaP99} | ${avg(m.clippedHigh)} | ${avg(m.blockedLow)} |`);
}
console.log(out.join('\n'));
if (args.json && !saved) {
  const measures = Object.fromEntries(Object.entries(all).map(([f, s]) => [f, Object.fromEntries(Object.entries(s).map(([v, m]) => [v, { ...m, focusMap: undefined }]))]));
  fs.writeFileSync(args.json, JSON.stringify({ side, photos: files.length, pairs, cross, measures }, null, 1));
}
