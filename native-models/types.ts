// The shapes every other part of the app relies on; implementations live beside this file.

export interface PreprocessSpec {
  /** Model input side (224 for ViT-B/32): shortest side resized to this, then centre-cropped square. */
  imageSize: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ModelInfo {
  /** Stable id; image embeddings and text features are keyed by it in the database. */
  id: string;
  /** Human name, e.g. "OpenAI CLIP ViT-B/32". */
  name: string;
  dir: string;
  /** Embedding size (projection_dim), 512 for ViT-B/32. */
  dim: number;
  preprocess: PreprocessSpec;
  /** CLIP-IQA logit scale: 100 unless the model folder's config sets `logit_scale` explicitly. */
  logitScale: number;
  /** Absolute paths of the ONNX files in use (the *_quantized variants when asked). */
  visionFile: string;
  textFile: string;
  tokenizerFile: string;
  quantized: boolean;
  /** Vision architecture when recognised from config.json, e.g. "ViT-B/32" (enables the LAION head). */
  architecture: string | null;
  /** True for generated test models: seeded random weights, so scores carry no meaning. */
  randomWeights: boolean;
}

export interface ClipModel {
  readonly info: ModelInfo;
  /** `pixels` holds `count` CHW images of `imageSize`²; returns count × dim L2-normalised rows. */
  embedImages(pixels: Float32Array, count: number): Promise<Float32Array>;
  /** Returns texts.length × dim L2-normalised rows. */
  embedTexts(texts: string[]): Promise<Float32Array>;
  /** Opens the text session (and tokenizer) now rather than at the first embedTexts; idempotent. */
  prepareText?(): Promise<void>;
  /** True once the text session is open (a search then encodes its text without waiting for it). */
  readonly textReady?: boolean;
  dispose(): Promise<void>;
}

export interface DecodedPhoto {
  /** CHW float32, normalised, imageSize × imageSize. */
  pixels: Float32Array;
  /** JPEG thumbnail, long side about `thumbSize` (512), orientation applied. */
  thumbnail: Buffer;
  /** Oriented dimensions of the original image. */
  width: number;
  height: number;
}
