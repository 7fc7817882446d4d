// CLIP text tokenizer: the model folder's Hugging Face tokenizer.json run by @huggingface/tokenizers,
// with CLIP's 77-token context (start token, text, end token). Plain JavaScript (typed by
// clip-tokenizer.d.mts, imported through tokenizer.ts) so that the text worker (text-worker.mjs)
// loads it under Node, tsx, vitest and Electron alike, as heif-worker.mjs does.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const START = '<|startoftext|>';
const END = '<|endoftext|>';

export class ClipTokenizer {
  maxLength = 77;

  /** @param {Tokenizer} tokenizer */
  constructor(tokenizer) {
    this.tokenizer = tokenizer;
    const start = tokenizer.token_to_id(START);
    const end = tokenizer.token_to_id(END);
    if (start === undefined || end === undefined) throw new Error(`tokenizer has no ${START} / ${END} tokens: not a CLIP tokenizer`);
    this.startTokenId = start;
    this.endTokenId = end;
  }

  /**
   * Loads tokenizer.json, with tokenizer_config.json from the same folder when present.
   * @param {string} tokenizerJsonPath
   * @returns {ClipTokenizer}
   */
  static fromFile(tokenizerJsonPath) {
    const tokenizerJson = readJson(tokenizerJsonPath);
    const configPath = path.join(path.dirname(tokenizerJsonPath), 'tokenizer_config.json');
    const config = fs.existsSync(configPath) ? readJson(configPath) : {};
    return new ClipTokenizer(new Tokenizer(tokenizerJson, config));
  }

  /**
   * Token ids with start and end tokens; longer texts are cut to 77 tokens, the end token kept last.
   * @param {string} text
   * @returns {number[]}
   */
  encode(text) {
    const ids = this.tokenizer.encode(cleanText(text), { add_special_tokens: false }).ids;
    const body = ids.slice(0, this.maxLength - 2);
    return [this.startTokenId, ...body, this.endTokenId];
  }

  /** @param {number[]} ids @returns {string} */
  decode(ids) {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }
}

/** @type {Record<string, string>} */
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The parts of OpenAI's `basic_clean` (ftfy.fix_text + html.unescape) that tokenizer.json leaves
 * out but that matter for typed prompts: HTML entities, curly quotes (smart-quote keyboards),
 * full-width characters, Latin ligatures and control characters. NFC, whitespace folding and
 * lower-casing are done by tokenizer.json's own normalizer.
 * @param {string} text
 * @returns {string}
 */
export function cleanText(text) {
  for (let i = 0; i < 2 && text.includes('&'); i++) {
    // OpenAI unescapes twice ("&amp;amp;" → "&").
    text = text.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e) => {
      if (e[0] !== '#') return ENTITIES[e.toLowerCase()] ?? m;
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    });
  }
  return text
    .replace(/[\u02bc\u2018-\u201b]/g, "'")
    .replace(/[\u201c-\u201f]/g, '"')
    .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(/[\ufb00-\ufb06]/g, (c) => c.normalize('NFKC'))
    .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f\ufeff]/g, '');
}

/** @param {string} file @returns {object} */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
