// What the first explainAll of a session costs the process that serves the window: with no text
// feature cached yet, it opens the text tower (tokenizer + ONNX session) and encodes every
// preset's prompts. Measured here as that work — prepareText, then embedTexts of the presets'
// prompts — on a fresh ClipModel each run, with a 1-ms timer on the main thread: the wall time and
// the longest the main thread went without turning (a photo request arriving meanwhile waits that
// long). Since the text tower lives in a worker thread (native-models/text-session.ts) the stall
// should be a few ms; on the main thread it was the whole load.
import { performance } from 'node:perf_hooks';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import { PRESETS } from '../../electron/services/signals/presets.ts';
import { median, round } from './util.ts';

export interface TextStall {
  runs: number;
  prompts: number;
  /** Median wall time of prepareText + the presets' prompts encoded. */
  coldMs: number;
  /** Median of each run's longest main-thread stall meanwhile; and the worst run's. */
  stallMs: number;
  stallMaxMs: number;
}

export async function measureTextStall(modelDir: string, runs = 3): Promise<TextStall> {
  const prompts = [...new Set(PRESETS.flatMap((p) => [...p.attribute.positive.prompts, ...p.attribute.negative.prompts]))];
  const wall: number[] = [];
  const stalls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const model = await openClipModel(loadModelFolder(modelDir), { lazyVision: true });
    let last = performance.now();
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 1);
    try {
      await new Promise((r) => setTimeout(r, 50));
      worst = 0;
      last = performance.now();
      const t = performance.now();
      await model.prepareText!();
      await model.embedTexts(prompts);
      wall.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5)); // the timer's first turn after a stall records it
      stalls.push(worst);
    } finally {
      clearInterval(timer);
      await model.dispose();
    }
  }
  return { runs, prompts: prompts.length, coldMs: round(median(wall), 0), stallMs: round(median(stalls), 0), stallMaxMs: round(Math.max(...stalls), 0) };
}
