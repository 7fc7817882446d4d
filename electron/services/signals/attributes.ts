// Turning what a user types into CLIP-IQA attributes (antonym prompt pairs).
//
// CLIP-IQA (Wang, Chan & Loy, AAAI 2023) scores an image with the pair "{Adjective} photo." for the
// desirable and the opposite side; "CLIP knows image aesthetics" (Hentschel, Kobs & Hotho 2022)
// showed that averaging several phrasings (prompt ensembles) makes such zero-shot scores steadier.
// Everything here is plain data: prompts are encoded (and cached) by db/features.ts.
import fs from 'node:fs';
import { UserError } from '../../../common/errors.ts';
import type { Attribute, AttributeQuery, Pole, QueryTerm } from '../../../common/types.ts';
import type { SignalLookup } from './registry.ts';

/** CLIP-IQA's template: "{Adjective} photo." with the first letter capitalised. */
export const CLIP_IQA_TEMPLATE = '{} photo.';

/** Phrasings averaged by `ensemble` when no templates are given. */
export const DEFAULT_TEMPLATES = ['{} photo.', 'a {} photo.', 'a {} picture.', 'a photo that is {}.', 'a picture that is {}.'];

/** "a {adjective} photo of a {class}." — CLIP's ImageNet prompt style, used by `withContext`. */
export const CONTEXT_TEMPLATE = 'a {adjective} photo of a {class}.';

export class AttributeParseError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AttributeParseError';
  }
}

/** The 1000 ImageNet class names as curated for CLIP's zero-shot evaluation (see data/README.md). */
export const IMAGENET_CLASSES: readonly string[] = JSON.parse(
  fs.readFileSync(new URL('./data/imagenet-classes.json', import.meta.url), 'utf8'),
) as string[];

// Separators between the two sides: "vs", "vs.", "versus" (words), "/", "↔", "<->".
const SEPARATOR = /(?:^|\s+)(?:vs\.?|versus)(?:\s+|$)|\s*(?:\/|↔|<->)\s*/i;
const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’' };

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function unquote(s: string): string | null {
  const close = QUOTES[s.charAt(0)];
  return close && s.length >= 2 && s.endsWith(close) ? s.slice(1, -1).trim() : null;
}

/**
 * One side as a prompt: a quoted side, a side ending with '.', or one of three or more words is a
 * full prompt used verbatim; anything shorter is an adjective for CLIP-IQA's "{Adjective} photo.".
 */
export function promptFor(side: string): string {
  const s = side.trim().replace(/\s+/g, ' ');
  if (!s) throw new AttributeParseError('One side of the attribute is empty: type two opposites, e.g. "sharp vs blurry".');
  const quoted = unquote(s);
  if (quoted !== null) {
    if (!quoted) throw new AttributeParseError('A quoted prompt is empty.');
    return quoted;
  }
  if (s.endsWith('.') || s.split(' ').length >= 3) return s;
  return CLIP_IQA_TEMPLATE.replace('{}', capitalise(s));
}

/** Splits at separators outside quotes, so a quoted prompt may contain "/", "vs" or "+". */
function splitOutsideQuotes(text: string, separator: RegExp): string[] {
  // Mask quoted spans (a quote opens at the start or after a space/operator, so "lady's" is no quote),
  // split the masked text, then cut the original at the same offsets.
  let masked = '';
  for (let i = 0; i < text.length; ) {
    const close = QUOTES[text[i]];
    const end = close && (i === 0 || /[\s/↔>+*×]/.test(text[i - 1])) ? text.indexOf(close, i + 1) : -1;
    if (end > i) {
      masked += '_'.repeat(end + 1 - i);
      i = end + 1;
    } else {
      masked += text[i++];
    }
  }
  const parts: string[] = [];
  const re = new RegExp(separator.source, separator.flags.includes('g') ? separator.flags : separator.flags + 'g');
  let start = 0;
  for (let m = re.exec(masked); m; m = re.exec(masked)) {
    if (!m[0].length) {
      re.lastIndex++;
      continue;
    }
    parts.push(text.slice(start, m.index));
    start = m.index + m[0].length;
  }
  parts.push(text.slice(start));
  return parts;
}

/** "scary vs peaceful" → positive ["Scary photo."], negative ["Peaceful photo."]. */
export function parseAttribute(text: string): Attribute {
  const label = text.trim().replace(/\s+/g, ' ');
  const sides = splitOutsideQuotes(label, SEPARATOR);
  if (sides.length !== 2) {
    throw new AttributeParseError(
      sides.length < 2
        ? `"${label}" is not a pair of opposites: type them separated by "vs", e.g. "sharp vs blurry" (or use a preset such as @quality).`
        : `"${label}" has more than two sides: use one "vs" per attribute and join attributes with "+".`,
    );
  }
  return { label, positive: { prompts: [promptFor(sides[0])] }, negative: { prompts: [promptFor(sides[1])] } };
}

function checkWeights(prompts: string[], weights: number[] | undefined, pole: string): void {
  if (!weights) return;
  if (weights.length !== prompts.length) {
    throw new AttributeParseError(`The ${pole} pole has ${prompts.length} prompts but ${weights.length} weights.`);
  }
  if (weights.some((w) => !Number.isFinite(w) || w < 0) || !weights.some((w) => w > 0)) {
    throw new AttributeParseError(`Weights of the ${pole} pole must be non-negative numbers, at least one above zero.`);
  }
}

/** `--pos/--neg` style: full prompts as given, optionally weighted (weighted sum of embeddings). */
export function attributeFromPrompts(
  pos: string[],
  neg: string[],
  weights?: { positive?: number[]; negative?: number[] },
  label?: string,
): Attribute {
  const clean = (list: string[], pole: string) => {
    const out = list.map((p) => p.trim());
    if (!out.length) throw new AttributeParseError(`The ${pole} side needs at least one prompt.`);
    if (out.some((p) => !p)) throw new AttributeParseError(`A ${pole} prompt is empty.`);
    return out;
  };
  const positive: Pole = { prompts: clean(pos, 'positive') };
  const negative: Pole = { prompts: clean(neg, 'negative') };
  checkWeights(positive.prompts, weights?.positive, 'positive');
  checkWeights(negative.prompts, weights?.negative, 'negative');
  if (weights?.positive) positive.weights = [...weights.positive];
  if (weights?.negative) negative.weights = [...weights.negative];
  return { label: label ?? `${positive.prompts.join(' | ')} vs ${negative.prompts.join(' | ')}`, positive, negative };
}

function fill(template: string, adjective: string): string {
  // A template that starts with the adjective gets it capitalised ("{} photo." → "Sharp photo.").
  return template.startsWith('{}') ? template.replace('{}', capitalise(adjective)) : template.replace('{}', adjective);
}

/**
 * A prompt ensemble: every template × adjective, averaged into one direction per pole.
 * `posWeights`/`negWeights` weight each adjective (all its templates share the weight).
 */
export function ensemble(
  label: string,
  posAdjectives: string[],
  negAdjectives: string[],
  templates: string[] = DEFAULT_TEMPLATES,
  adjectiveWeights?: { positive?: number[]; negative?: number[] },
): Attribute {
  if (!templates.length || templates.some((t) => !t.includes('{}'))) {
    throw new AttributeParseError('Every ensemble template needs a "{}" where the adjective goes.');
  }
  const pole = (adjectives: string[], weights: number[] | undefined, name: string): Pole => {
    if (!adjectives.length) throw new AttributeParseError(`The ${name} side of "${label}" needs at least one adjective.`);
    checkWeights(adjectives, weights, name);
    const prompts: string[] = [];
    const w: number[] = [];
    adjectives.forEach((adj, i) => {
      for (const t of templates) {
        prompts.push(fill(t, adj.trim()));
        w.push(weights ? weights[i] : 1);
      }
    });
    return weights ? { prompts, weights: w } : { prompts };
  };
  return {
    label,
    positive: pole(posAdjectives, adjectiveWeights?.positive, 'positive'),
    negative: pole(negAdjectives, adjectiveWeights?.negative, 'negative'),
  };
}

/** Recovers the adjectives of prompts written with CLIP-IQA's "{Adjective} photo." template. */
export function adjectivesOf(pole: Pole): string[] {
  return pole.prompts.map((p) => {
    const m = /^(.+) photo\.$/.exec(p);
    if (!m || m[1].split(' ').length > 2) {
      throw new AttributeParseError(
        `Context prompts need adjectives, but "${p}" is a full prompt: pass the adjectives to withContext explicitly.`,
      );
    }
    // Undo the capitalisation unless the word is an acronym ("HDR photo.").
    const a = m[1];
    return /^[A-Z][a-z]/.test(a) ? a.charAt(0).toLowerCase() + a.slice(1) : a;
  });
}

/**
 * Context prompts: "a {adjective} photo of a {class}." for every class, averaged per pole, so the
 * direction ignores *what* is in the photo and keeps *how* it looks. 1000 classes × adjectives
 * prompts per pole: encoded once per model, then served from the text-feature cache.
 */
export function withContext(
  attr: Attribute,
  classNames: readonly string[] = IMAGENET_CLASSES,
  adjectives?: { positive: string[]; negative: string[] },
): Attribute {
  const classes = [...new Set(classNames.map((c) => c.trim()).filter(Boolean))];
  if (!classes.length) throw new AttributeParseError('withContext needs at least one class name.');
  const pole = (adjs: string[]): Pole => ({
    prompts: adjs.flatMap((adj) => classes.map((c) => CONTEXT_TEMPLATE.replace('{adjective}', adj).replace('{class}', c))),
  });
  return {
    label: attr.label,
    positive: pole(adjectives?.positive ?? adjectivesOf(attr.positive)),
    negative: pole(adjectives?.negative ?? adjectivesOf(attr.negative)),
    ...(attr.weight !== undefined ? { weight: attr.weight } : {}),
  };
}

const WEIGHT_PREFIX = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:[*×]|x(?=\s))\s*/i;
const WEIGHT_SUFFIX = /\s*[*×]\s*(\d+(?:\.\d*)?|\.\d+)$/;

function parseTerm(typed: string, signals?: SignalLookup): QueryTerm {
  let text = typed.trim();
  let weight: number | undefined;
  const pre = WEIGHT_PREFIX.exec(text);
  if (pre) {
    weight = Number(pre[1]);
    text = text.slice(pre[0].length);
  } else {
    const post = WEIGHT_SUFFIX.exec(text);
    if (post) {
      weight = Number(post[1]);
      text = text.slice(0, post.index);
    }
  }
  if (weight !== undefined && !(weight > 0)) throw new AttributeParseError(`The weight of "${text}" must be above zero.`);
  let term: QueryTerm;
  if (text.startsWith('@')) {
    const name = text.slice(1).trim();
    const found = signals?.(name);
    if (!found) {
      const known = signals?.known?.length ? ` Available here: ${signals.known.map((k) => '@' + k).join(', ')}.` : '';
      throw new AttributeParseError(`Unknown signal "@${name}".${known}`);
    }
    term = { ...found };
  } else {
    term = parseAttribute(text);
  }
  if (weight !== undefined) term.weight = weight;
  return term;
}

/** Gives duplicate labels a suffix so every part of a combination has its own key in `parts`. */
function uniqueLabels<T extends QueryTerm>(attrs: T[]): T[] {
  const seen = new Map<string, number>();
  return attrs.map((a) => {
    const n = (seen.get(a.label) ?? 0) + 1;
    seen.set(a.label, n);
    return n === 1 ? a : { ...a, label: `${a.label} (${n})` };
  });
}

/**
 * "sharp vs blurry + 0.5*bright vs dark", "@quality + 2 × scary vs peaceful": attributes joined by
 * "+", each with an optional weight ("w*" before or "*w" after); "@name" names a signal (a preset,
 * "@laion", "@taste:NAME", …: registry.ts).
 */
export function parseQuery(text: string, signals?: SignalLookup): AttributeQuery {
  const terms = splitOutsideQuotes(text.trim(), /\s*\+\s*/).filter((t) => t.trim());
  if (!terms.length) throw new AttributeParseError('Type an attribute such as "sharp vs blurry", or a preset such as @quality.');
  return { attributes: uniqueLabels(terms.map((t) => parseTerm(t, signals))) };
}

/** An array of attributes (optionally with weights) → one query. */
export function combine(
  items: Array<Attribute | { attribute: Attribute; weight: number }>,
  minScore?: number,
): AttributeQuery {
  if (!items.length) throw new AttributeParseError('A combination needs at least one attribute.');
  const attributes = items.map((it) => {
    if ('attribute' in it) {
      if (!(it.weight > 0)) throw new AttributeParseError(`The weight of "${it.attribute.label}" must be above zero.`);
      return { ...it.attribute, weight: it.weight };
    }
    return it;
  });
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) {
    throw new AttributeParseError('minScore must be between 0 and 1.');
  }
  return minScore === undefined ? { attributes: uniqueLabels(attributes) } : { attributes: uniqueLabels(attributes), minScore };
}
