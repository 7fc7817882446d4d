import sharp from 'sharp';
import { measureTechnical } from '/work/wt/technical/electron/services/indexing/analyzers/technical-measures.ts';
const { data, info } = await sharp('/work/shared/photos/sample-shoot/Dragonfly_by_Bolly.jpg').resize(1500).raw().toBuffer({ resolveWithObject: true });
const r = { data, width: info.width, height: info.height, channels: 3 as const };
for (let i = 0; i < 8; i++) { const c = process.cpuUsage(); const m = measureTechnical(r); const u = process.cpuUsage(c); if (i > 1) console.log(((u.user + u.system) / 1000).toFixed(0), "ms CPU", m.focus.toFixed(4), m.exposure.toFixed(4), m.clean.toFixed(4), m.motion.toFixed(4)); }
