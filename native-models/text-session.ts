// The CLIP text tower's tokenizer and ONNX session, held by a worker thread (text-worker.mjs) so
// that loading them never holds the main process: a library serving the window opened them there
// on the first explainAll or search and stalled the photos asked for meanwhile (~0.6 s for the
// generated tiny model). runtime.ts keeps the batching and the checks; this is the session's proxy.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';

const WORKER_URL = new URL('./text-worker.mjs', import.meta.url);

/** An int64 input as the worker builds its tensor from it. */
export interface Int64Feed {
  data: BigInt64Array;
  dims: number[];
}

type Reply = { id: number; ids?: number[][]; data?: Float32Array; dims?: number[]; error?: string };
type Ready = { ready?: { inputNames: string[]; outputNames: string[]; endTokenId: number }; loadError?: { stage: 'tokenizer' | 'session'; message: string } };

export class TextSession {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    /** The tokenizer's end token (the padding after a shorter text). */
    readonly endTokenId: number,
    file: string,
  ) {
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.settle(m.id);
      if (m.error) p.reject(new Error(`ONNX model ${file}: ${m.error}`));
      else p.resolve(m);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const [id, p] of this.pending) {
        this.settle(id);
        p.reject(err);
      }
    };
    worker.on('error', (err) => fail(new Error(`The text encoder's worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new Error(`The text encoder's worker stopped (code ${code}).`)));
  }

  /**
   * Starts the worker and resolves once it loaded the session (`textFile`, `options`) and the
   * tokenizer; rejects with what failed, naming the file, as the main-thread load did.
   */
  static open(textFile: string, tokenizerFile: string, options: ort.InferenceSession.SessionOptions): Promise<TextSession> {
    if (!fs.existsSync(textFile)) return Promise.reject(new Error(`ONNX model file not found: ${textFile}`));
    // Plain JavaScript: none of the parent's loader flags (tsx's hooks cost ~0.1–0.3 s a worker).
    const worker = new Worker(WORKER_URL, { execArgv: [], workerData: { textFile, tokenizerFile, options } });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        cleanup();
        reject(new Error(`Could not load ONNX model ${textFile}: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number) => onError(new Error(`the text encoder's worker stopped (code ${code})`));
      const onMessage = (m: Ready) => {
        cleanup();
        if (m.ready) {
          worker.unref(); // idle: never keeps the process alive
          resolve(new TextSession(worker, m.ready.inputNames, m.ready.outputNames, m.ready.endTokenId, textFile));
          return;
        }
        void worker.terminate();
        const e = m.loadError!;
        reject(new Error(e.stage === 'session' ? `Could not load ONNX model ${textFile}: ${e.message}` : e.message));
      };
      const cleanup = () => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }

  /** Token ids of each text (CLIP's start and end tokens, at most 77). */
  async encode(texts: string[]): Promise<number[][]> {
    return (await this.request({ op: 'encode', texts })).ids!;
  }

  /** One session run: `output`'s values and shape. */
  async run(feeds: Record<string, Int64Feed>, output: string): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const r = await this.request({ op: 'run', feeds, output });
    return { data: r.data!, dims: r.dims! };
  }

  /** Releases the session and stops the worker. */
  async release(): Promise<void> {
    if (!this.failure) await this.request({ op: 'release' }).catch(() => {});
    this.failure ??= new Error('The text encoder was closed.');
    await this.worker.terminate();
  }

  private request(message: object): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    // Kept alive while a request waits (a CLI run awaiting its search must not exit under it).
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }
}
