// The technical analyzer's published figures (docs/judgement.md): every photo of
// ../shared/photos/sample-shoot (or DIR) degraded by known amounts, each copy run through the real
// decode + TechnicalAnalyzer, then the share of pairs ordered correctly and the cross-photo AUCs.
//
//   npx tsx test/judgement/technical.ts [DIR] [--side 1500] [--only blur] [--json out.json]
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
  options: { side: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' } },
});
const dir = positionals[0] ?? path.resolve(import.meta.dirname, '../../../shared/photos/sample-shoot');
if (!fs.existsSync(dir)) {
  console.error(`No photos at ${dir}: pass a folder of photos (the published figures use ../shared/photos/sample-shoot).`);
  process.exit(2);
}
const side = Number(args.side ?? TECHNICAL_WORKING_SIDE);
const analyzer = new TechnicalAnalyzer(side);
const variants = args.only ? VARIANTS.filter((v) => v.kind === 'original' || v.kind.startsWith(args.only!)) : VARIANTS;
const files = fs.readdirSync(dir).filter((f) => /\.(jpe?g|png|tiff?|webp)$/i.test(f)).sort();

const all: Record<string, Scores> = {};
const cpu: number[] = [];
for (const f of files) {
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
out.push(`${files.length} photos from ${path.basename(dir)}, working side ${side} px, amounts in working pixels.`, '');
out.push('| signal | degradation | original scores higher | rate | wrong on |', '|---|---|---|---|---|');
for (const p of pairs) out.push(`| @${p.signal} | ${p.variant} | ${p.correct} / ${p.total} | ${pct(p.correct, p.total)} | ${p.wrong.join(', ') || '–'} |`);
const sum = (sig: string) => pairs.filter((p) => p.signal === sig).reduce((a, p) => [a[0] + p.correct, a[1] + p.total], [0, 0]);
for (const sig of ['focus', 'clean', 'exposure']) {
  const [c, t] = sum(sig);
  if (t) out.push(`| @${sig} | all above | ${c} / ${t} | ${pct(c, t)} | |`);
}
out.push('', '| signal | every original vs every other photo\'s | AUC | pairs wrong / pairs | worst confusions |', '|---|---|---|---|---|');
for (const c of cross) out.push(`| @${c.signal} | ${c.against.join(' + ')} | ${c.auc.toFixed(3)} | ${c.wrongPairs} / ${c.pairs} | ${c.worst.slice(0, 3).join('; ') || '–'} |`);
out.push('', '| photo | @focus | sharpness | motion | @clean | noise σ | @exposure | median | p99 | clipped % | blocked % |', '|---|---|---|---|---|---|---|---|---|---|---|');
for (const [f, s] of Object.entries(all)) {
  const m = s.original;
  const avg = (x: number[]) => ((100 * (x[0] + x[1] + x[2])) / 3).toFixed(1);
  out.push(`| ${f} | ${m.focus.toFixed(2)} | ${m.sharpness.toFixed(3)} | ${m.motion.toFixed(2)} | ${m.clean.toFixed(2)} | ${m.noiseSigma.toFixed(2)} | ${m.exposure.toFixed(2)} | ${m.lumaMedian} | ${m.lumaP99} | ${avg(m.clippedHigh)} | ${avg(m.blockedLow)} |`);
}
console.log(out.join('\n'));
if (args.json) {
  const measures = Object.fromEntries(Object.entries(all).map(([f, s]) => [f, Object.fromEntries(Object.entries(s).map(([v, m]) => [v, { ...m, focusMap: undefined }]))]));
  fs.writeFileSync(args.json, JSON.stringify({ side, photos: files.length, pairs, cross, measures }, null, 1));
}
