// Generates a complete CLIP model folder (Hugging Face / transformers.js ONNX layout) with the real
// architecture and seeded random weights, for tests and for running the app without downloads.
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildTextModel, buildVisionModel, WeightStore, type ClipDims } from './clip-onnx.ts';
import { buildClipTokenizerJson, clipSpecialTokensMap, clipTokenizerConfig } from './tokenizer-json.ts';

export type TestModelSize = 'tiny' | 'vit-b-32';

export interface MakeTestModelOptions {
  out: string;
  size: TestModelSize;
  seed?: number;
  /** Also write onnx/*_quantized.onnx (dynamic uint8 quantization of the same weights). */
  quantized?: boolean;
}

export const TEST_MODEL_DIMS: Record<TestModelSize, ClipDims> = {
  // Real 224 px input (so the real preprocessing applies) but a very small transformer.
  tiny: {
    vision: { imageSize: 224, patchSize: 32, width: 64, layers: 2, heads: 2, mlp: 256 },
    text: { vocabSize: 49408, positions: 77, width: 64, layers: 2, heads: 2, mlp: 256 },
    projection: 32,
  },
  // Exactly OpenAI's ViT-B/32.
  'vit-b-32': {
    vision: { imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, mlp: 3072 },
    text: { vocabSize: 49408, positions: 77, width: 512, layers: 12, heads: 8, mlp: 2048 },
    projection: 512,
  },
};

/** config.json shaped like openai/clip-vit-base-patch32's. */
export function clipConfig(d: ClipDims): Record<string, unknown> {
  const common = {
    attention_dropout: 0.0, dropout: 0.0, hidden_act: 'quick_gelu', initializer_factor: 1.0,
    initializer_range: 0.02, layer_norm_eps: 1e-5, projection_dim: d.projection, torch_dtype: 'float32',
  };
  return {
    architectures: ['CLIPModel'],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: d.projection,
    text_config: {
      ...common,
      bos_token_id: 0,
      eos_token_id: 2,
      hidden_size: d.text.width,
      intermediate_size: d.text.mlp,
      max_position_embeddings: d.text.positions,
      model_type: 'clip_text_model',
      num_attention_heads: d.text.heads,
      num_hidden_layers: d.text.layers,
      vocab_size: d.text.vocabSize,
    },
    torch_dtype: 'float32',
    vision_config: {
      ...common,
      hidden_size: d.vision.width,
      image_size: d.vision.imageSize,
      intermediate_size: d.vision.mlp,
      model_type: 'clip_vision_model',
      num_attention_heads: d.vision.heads,
      num_channels: 3,
      num_hidden_layers: d.vision.layers,
      patch_size: d.vision.patchSize,
    },
  };
}

export function clipPreprocessorConfig(imageSize: number): Record<string, unknown> {
  return {
    crop_size: { height: imageSize, width: imageSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: imageSize },
  };
}

export async function makeTestModel({ out, size, seed = 1, quantized = false }: MakeTestModelOptions): Promise<void> {
  const dims = TEST_MODEL_DIMS[size];
  if (!dims) throw new Error(`Unknown test model size "${size}" (expected tiny or vit-b-32)`);
  if (!Number.isInteger(seed)) throw new Error(`Seed must be an integer, got ${seed}`);
  await fs.mkdir(path.join(out, 'onnx'), { recursive: true });

  const json = (file: string, value: unknown) => fs.writeFile(path.join(out, file), `${JSON.stringify(value, null, 2)}\n`);
  await json('config.json', clipConfig(dims));
  await json('preprocessor_config.json', clipPreprocessorConfig(dims.vision.imageSize));
  await json('tokenizer.json', buildClipTokenizerJson());
  await json('tokenizer_config.json', clipTokenizerConfig());
  await json('special_tokens_map.json', clipSpecialTokensMap());
  await json('cull-model.json', {
    id: `test-${size}-seed${seed}`,
    name: `Generated test model (${size}, random weights)`,
    randomWeights: true,
    architecture: size === 'vit-b-32' ? 'ViT-B/32' : null,
  });

  // One tower at a time to bound peak memory; every tensor's values depend only on (seed, name),
  // so the fp32 and quantized graphs share weights and the output does not depend on build order.
  const towers = [['vision_model', buildVisionModel], ['text_model', buildTextModel]] as const;
  for (const [name, build] of towers) {
    const weights = new WeightStore(seed);
    await fs.writeFile(path.join(out, 'onnx', `${name}.onnx`), build(dims, weights, false));
    if (quantized) await fs.writeFile(path.join(out, 'onnx', `${name}_quantized.onnx`), build(dims, weights, true));
  }
}
