// ClipTokenizer parity with OpenAI CLIP's tokenizer. The reference is an independent port of
// OpenAI's SimpleTokenizer (clip/simple_tokenizer.py) written here from the BPE merges file;
// it must agree with our tokenizer.json-based encoder token for token.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipTokenizer, cleanText } from '../native-models/tokenizer.ts';
import { buildClipTokenizerJson, clipTokenizerConfig } from '../native-models/testmodel/tokenizer-json.ts';

const SHARED = path.resolve(__dirname, '../../shared/clip-tokenizer');
const REPO_VOCAB = path.resolve(__dirname, '../native-models/vocab/bpe_simple_vocab_16e6.txt.gz');
const SOT = 49406;
const EOT = 49407;

/** OpenAI's SimpleTokenizer, minus ftfy (the strings compared below need none of its fixes). */
class SimpleTokenizer {
  private encoder = new Map<string, number>();
  private ranks = new Map<string, number>();
  private byteEncoder: string[] = [];
  private pat = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

  constructor(bpeGz: string) {
    const bs: number[] = [];
    for (let b = 33; b <= 126; b++) bs.push(b);
    for (let b = 161; b <= 172; b++) bs.push(b);
    for (let b = 174; b <= 255; b++) bs.push(b);
    const cs = [...bs];
    let n = 0;
    for (let b = 0; b < 256; b++) if (!bs.includes(b)) (bs.push(b), cs.push(256 + n++));
    bs.forEach((b, i) => (this.byteEncoder[b] = String.fromCodePoint(cs[i])));
    const merges = zlib
      .gunzipSync(fs.readFileSync(bpeGz))
      .toString('utf8')
      .split('\n')
      .slice(1, 49152 - 256 - 2 + 1)
      .map((l) => l.split(' ') as [string, string]);
    const base = cs.map((c) => String.fromCodePoint(c));
    const vocab = [...base, ...base.map((v) => v + '</w>'), ...merges.map(([a, b]) => a + b), '<|startoftext|>', '<|endoftext|>'];
    vocab.forEach((v, i) => this.encoder.set(v, i));
    merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
  }

  private bpe(token: string): string[] {
    if (token === '<|startoftext|>' || token === '<|endoftext|>') return [token];
    const chars = [...token];
    let word = [...chars.slice(0, -1), chars[chars.length - 1] + '</w>'];
    while (word.length > 1) {
      let best: [string, string] | null = null;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) (bestRank = r), (best = [word[i], word[i + 1]]);
      }
      if (!best) break;
      const [first, second] = best;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) next.push(first + second), (i += 2);
        else next.push(word[i++]);
      }
      word = next;
    }
    return word;
  }

  /** clip.tokenize(text, truncate=True) without padding. */
  encode(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const [token] of clean.matchAll(this.pat)) {
      const bytes = [...Buffer.from(token, 'utf8')].map((b) => this.byteEncoder[b]).join('');
      for (const piece of this.bpe(token.startsWith('<|') ? token : bytes)) ids.push(this.encoder.get(piece)!);
    }
    const all = [SOT, ...ids, EOT];
    if (all.length > 77) return [...all.slice(0, 76), EOT];
    return all;
  }
}

const HUNDRED_WORDS = Array.from({ length: 100 }, (_, i) => ['sharp', 'blurry', 'photo', 'of', 'a', 'mountain', 'lake', 'at', 'dawn', 'x' + i][i % 10]).join(' ');

const STRINGS = [
  'a photo of a cat',
  "It's  a   SHARP photo!!",
  "they're, we've, I'm, you'll, he'd, don't",
  'ThIs Is MiXeD cAsE',
  'café naïve résumé Ελληνικά русский 日本語の写真',
  'cafe\u0301 (decomposed accent)',
  '🙂 emoji 👍🏽 🇯🇵 ❤️ 🏔️🌅',
  '1234567 and 3.14, 1/2 ½ ²',
  '  leading and trailing \t\n  spaces  ',
  'hello-world_foo.bar@baz.com #hashtag $100 (parens) [brackets] {braces}',
  'a blurry, out-of-focus photo.',
  'overexposed vs. underexposed; high-ISO noise?',
  '',
  HUNDRED_WORDS,
];

function checkTokenizer(tok: ClipTokenizer, ref: SimpleTokenizer) {
  it('encodes known prompts to the ids of OpenAI CLIP', () => {
    // "a photo of a cat" is the CLIP docs example; single characters follow from the byte table:
    // 'a' is byte 0x61 → table index 0x61-0x21 = 64, so "a</w>" = 256+64 = 320; '1</w>' = 256+16 = 272.
    expect(tok.encode('a photo of a cat')).toEqual([SOT, 320, 1125, 539, 320, 2368, EOT]);
    expect(tok.encode('')).toEqual([SOT, EOT]);
    expect(tok.encode('   ')).toEqual([SOT, EOT]);
    expect(tok.encode('1234567')).toEqual([SOT, 272, 273, 274, 275, 276, 277, 278, EOT]); // digits split one by one
    expect(tok.encode('A PHOTO')).toEqual(tok.encode('a photo')); // lower-cased
    expect(tok.encode('cafe\u0301')).toEqual(tok.encode('café')); // NFC
    expect(tok.encode('a  \t photo\n')).toEqual(tok.encode('a photo')); // whitespace folded
    expect(tok.encode("it's")).toEqual([SOT, 585, 568, EOT]); // "it" + "'s" contraction
    expect(tok.endTokenId).toBe(EOT);
    expect(tok.maxLength).toBe(77);
  });

  it.each(STRINGS.map((s) => [s]))('matches the SimpleTokenizer port for %j', (text) => {
    expect(tok.encode(text)).toEqual(ref.encode(text));
  });

  it('truncates long text to 77 tokens, keeping the end token last', () => {
    const ids = tok.encode(HUNDRED_WORDS);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(SOT);
    expect(ids[76]).toBe(EOT);
    expect(ids.slice(0, 76)).toEqual(tok.encode(HUNDRED_WORDS.split(' ').slice(0, 80).join(' ')).slice(0, 76));
    expect(ids.filter((id) => id === EOT)).toHaveLength(1);
  });

  it("applies OpenAI's text clean-up that tokenizer.json lacks (entities, curly quotes, full width)", () => {
    expect(tok.encode('it’s “sharp”')).toEqual(tok.encode('it\'s "sharp"'));
    expect(tok.encode('AT&amp;T &lt;3 &#39;x&#x27;')).toEqual(tok.encode("at&t <3 'x'"));
    expect(tok.encode('Ｆｕｌｌ　ｗｉｄｔｈ ﬁne')).toEqual(tok.encode('full width fine'));
    expect(cleanText('a\u0000b\ufeffc')).toBe('abc');
  });
}

describe('ClipTokenizer with the generated tokenizer.json (always runs)', () => {
  // Built synchronously at collection time so the shared checks can take the instance directly.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-tok-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(buildClipTokenizerJson()));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(clipTokenizerConfig()));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  checkTokenizer(ClipTokenizer.fromFile(path.join(dir, 'tokenizer.json')), new SimpleTokenizer(REPO_VOCAB));

  it('rejects a tokenizer.json without CLIP special tokens', () => {
    const json = buildClipTokenizerJson() as { added_tokens: unknown[]; model: { vocab: Record<string, number> } };
    json.added_tokens = [];
    delete json.model.vocab['<|endoftext|>'];
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, JSON.stringify(json));
    expect(() => ClipTokenizer.fromFile(file)).toThrow(/not a CLIP tokenizer/);
  });

  it('names the file it cannot read', () => {
    expect(() => ClipTokenizer.fromFile(path.join(dir, 'nope.json'))).toThrow(/nope\.json/);
  });
});

const sharedPresent = fs.existsSync(path.join(SHARED, 'tokenizer.json'));
if (!sharedPresent) console.log(`tokenizer.test: ${SHARED} absent, skipping the parity test against the real openai/clip-vit-base-patch32 tokenizer.json`);

describe.skipIf(!sharedPresent)('ClipTokenizer with the real openai/clip-vit-base-patch32 tokenizer.json', () => {
  const tok = sharedPresent ? ClipTokenizer.fromFile(path.join(SHARED, 'tokenizer.json')) : (null as unknown as ClipTokenizer);
  const ref = sharedPresent ? new SimpleTokenizer(path.join(SHARED, 'bpe_simple_vocab_16e6.txt.gz')) : (null as unknown as SimpleTokenizer);
  checkTokenizer(tok, ref);
});
