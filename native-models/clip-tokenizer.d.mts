// Types of clip-tokenizer.mjs (plain JavaScript so that the text worker can load it).
export declare class ClipTokenizer {
  readonly maxLength: number;
  readonly startTokenId: number;
  readonly endTokenId: number;
  private constructor(tokenizer: unknown);
  /** Loads tokenizer.json, with tokenizer_config.json from the same folder when present. */
  static fromFile(tokenizerJsonPath: string): ClipTokenizer;
  /** Token ids with start and end tokens; longer texts are cut to 77 tokens, the end token kept last. */
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** The parts of OpenAI's `basic_clean` that tokenizer.json leaves out (entities, curly quotes, full-width, ligatures, controls). */
export declare function cleanText(text: string): string;
