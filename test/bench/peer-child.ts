// Child process: the peer, @huggingface/transformers (transformers.js v4) on the same model folder
// and photos, used the way its documentation shows for CLIP image embeddings:
//   RawImage.read(file) → AutoProcessor → CLIPVisionModelWithProjection → image_embeds
// one photo at a time, fully offline (allowRemoteModels=false, localModelPath = the model root).
// Its own process, so sharp and onnxruntime keep their default thread settings (all cores).
//   --root DIR --name NAME --list FILE(one photo path per line)
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { AutoProcessor, CLIPVisionModelWithProjection, RawImage, env } from '@huggingface/transformers';
import { log, reply, round } from './util.ts';

const { values: a } = parseArgs({ options: { root: { type: 'string' }, name: { type: 'string' }, list: { type: 'string' } } });

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = a.root!.endsWith('/') ? a.root! : `${a.root}/`;
env.useFSCache = false; // nothing to cache: every file is local

const files = fs.readFileSync(a.list!, 'utf8').split('\n').filter(Boolean);
const loadStart = performance.now();
const processor = await AutoProcessor.from_pretrained(a.name!);
const model = await CLIPVisionModelWithProjection.from_pretrained(a.name!, { dtype: 'fp32', device: 'cpu' });
const loadMs = performance.now() - loadStart;

type Embeds = { image_embeds: { dims: number[]; data: Float32Array } };
const embed = async (file: string) => {
  const t0 = performance.now();
  const image = await RawImage.read(file);
  const t1 = performance.now();
  const inputs = await processor(image);
  const t2 = performance.now();
  const out = (await model(inputs)) as Embeds;
  const t3 = performance.now();
  if (out.image_embeds.dims.join('x') !== '1x512') throw new Error(`unexpected image_embeds shape ${out.image_embeds.dims}`);
  return [t1 - t0, t2 - t1, t3 - t2];
};

await embed(files[0]); // warm-up (first inference allocates)
const parts = [0, 0, 0];
const t = performance.now();
for (let i = 0; i < files.length; i++) {
  const p = await embed(files[i]);
  p.forEach((v, k) => (parts[k] += v));
  if ((i + 1) % 10 === 0) log(`peer: ${i + 1}/${files.length} photos`);
}
const seconds = (performance.now() - t) / 1000;
reply({
  photos: files.length,
  seconds: round(seconds, 2),
  imgPerSec: round(files.length / seconds, 2),
  msPerPhoto: { read: round(parts[0] / files.length), preprocess: round(parts[1] / files.length), encode: round(parts[2] / files.length) },
  loadMs: Math.round(loadMs),
});
