// Builds a Hugging Face tokenizer.json for CLIP from OpenAI's BPE merges file, exactly as
// OpenAI's SimpleTokenizer and HF's CLIPTokenizer derive the vocabulary.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const DEFAULT_VOCAB_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../vocab/bpe_simple_vocab_16e6.txt.gz');

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/** GPT-2's reversible byte → printable unicode character table, in its canonical order. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  // Vocabulary order is the insertion order of this table (printable bytes first).
  return cs.map((c) => String.fromCodePoint(c));
}

/** Reads the merges (lines 1 .. 49152-256-2 of the file, the first line being a version header). */
export function readClipMerges(vocabFile = DEFAULT_VOCAB_FILE): [string, string][] {
  const lines = zlib.gunzipSync(fs.readFileSync(vocabFile)).toString('utf8').split('\n');
  return lines.slice(1, 49152 - 256 - 2 + 1).map((line) => {
    const [a, b] = line.split(' ');
    return [a, b];
  });
}

export function buildClipTokenizerJson(vocabFile = DEFAULT_VOCAB_FILE): Record<string, unknown> {
  const merges = readClipMerges(vocabFile);
  const byteChars = bytesToUnicode();
  const tokens = [...byteChars, ...byteChars.map((c) => `${c}</w>`), ...merges.map(([a, b]) => a + b), BOS, EOS];
  const vocab: Record<string, number> = {};
  tokens.forEach((tok, id) => (vocab[tok] = id));
  const bosId = vocab[BOS];
  const eosId = vocab[EOS];

  const added = (id: number, content: string, normalized: boolean) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(bosId, BOS, true), added(eosId, EOS, false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          // CLIP's word regex; the matches are kept (invert) and the gaps (whitespace) dropped.
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [EOS, eosId],
      cls: [BOS, bosId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const SPECIAL = { lstrip: false, rstrip: false, single_word: false };

export function clipTokenizerConfig(): Record<string, unknown> {
  return {
    add_prefix_space: false,
    added_tokens_decoder: {
      '49406': { content: BOS, ...SPECIAL, normalized: true, special: true },
      '49407': { content: EOS, ...SPECIAL, normalized: false, special: true },
    },
    bos_token: BOS,
    clean_up_tokenization_spaces: false,
    do_lower_case: true,
    eos_token: EOS,
    errors: 'replace',
    model_max_length: 77,
    pad_token: EOS,
    processor_class: 'CLIPProcessor',
    tokenizer_class: 'CLIPTokenizer',
    unk_token: EOS,
  };
}

export function clipSpecialTokensMap(): Record<string, unknown> {
  return {
    bos_token: { content: BOS, ...SPECIAL, normalized: true },
    eos_token: { content: EOS, ...SPECIAL, normalized: false },
    pad_token: { content: EOS, ...SPECIAL, normalized: false },
    unk_token: { content: EOS, ...SPECIAL, normalized: false },
  };
}
