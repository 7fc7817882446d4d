// The CLIP text tower's tokenizer and ONNX session, in a worker thread (driven by text-session.ts).
// Loading them holds the thread that does it: tokenizer.json's JSON and BPE tables ~0.4 s, the
// session ~0.25 s for the generated tiny model and ~1 s for ViT-B/32 (onnxruntime-node creates a
// session synchronously, though it returns a promise). On the main process that stalled every
// photo the window asked for meanwhile (the first explainAll of a session, the first search). Here
// it stalls nothing. Plain JavaScript so that it loads as a worker under Node, tsx, vitest and
// (bundled by build/build-electron.ts) Electron alike.
//
// Messages: { id, op: 'encode', texts } → { id, ids: number[][] };
//           { id, op: 'run', feeds: { name: { data: BigInt64Array, dims } }, output } → { id, data: Float32Array, dims };
//           { id, op: 'release' } → { id }. Once loaded it posts { ready: { inputNames, outputNames, endTokenId } },
// or { loadError: { stage: 'tokenizer' | 'session', message } }; a failed request { id, error }.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ClipTokenizer } from './clip-tokenizer.mjs';

const { textFile, tokenizerFile, options } = workerData;

/** @type {ClipTokenizer} */
let tokenizer;
/** @type {ort.InferenceSession} */
let session;

// No top-level await: the Electron build bundles workers as CommonJS.
async function load() {
  let stage = 'session';
  try {
    session = await ort.InferenceSession.create(textFile, options);
    stage = 'tokenizer';
    tokenizer = ClipTokenizer.fromFile(tokenizerFile);
    parentPort.postMessage({ ready: { inputNames: session.inputNames, outputNames: session.outputNames, endTokenId: tokenizer.endTokenId } });
  } catch (err) {
    parentPort.postMessage({ loadError: { stage, message: err instanceof Error ? err.message : String(err) } });
  }
}
void load();

parentPort.on('message', async (m) => {
  try {
    if (m.op === 'encode') {
      parentPort.postMessage({ id: m.id, ids: m.texts.map((t) => tokenizer.encode(t)) });
    } else if (m.op === 'run') {
      const feeds = {};
      for (const [name, f] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor('int64', f.data, f.dims);
      const result = await session.run(feeds, [m.output]);
      const out = result[m.output];
      try {
        const data = Float32Array.from(out.data);
        parentPort.postMessage({ id: m.id, data, dims: out.dims }, [data.buffer]);
      } finally {
        out.dispose();
      }
    } else if (m.op === 'release') {
      await session?.release();
      parentPort.postMessage({ id: m.id });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
