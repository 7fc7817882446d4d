import { describe, expect, it } from 'vitest';
import {
  AttributeParseError,
  IMAGENET_CLASSES,
  adjectivesOf,
  attributeFromPrompts,
  combine,
  ensemble,
  parseAttribute,
  parseQuery,
  promptFor,
  withContext,
} from '../electron/services/signals/attributes.ts';
import { PRESETS, getPreset, presetInfos } from '../electron/services/signals/presets.ts';
import { signalLookup } from '../electron/services/signals/registry.ts';
import type { Attribute } from '../common/types.ts';

const presetLookup = signalLookup();

describe('parseAttribute', () => {
  it('turns "a vs b" into CLIP-IQA prompts', () => {
    expect(parseAttribute('scary vs peaceful')).toEqual({
      label: 'scary vs peaceful',
      positive: { prompts: ['Scary photo.'] },
      negative: { prompts: ['Peaceful photo.'] },
    });
  });

  it.each([
    ['scary vs. peaceful'],
    ['scary versus peaceful'],
    ['scary / peaceful'],
    ['scary/peaceful'],
    ['scary ↔ peaceful'],
    ['  Scary   VS   peaceful  '],
    ['scary Versus peaceful'],
  ])('accepts the separator in %j', (text) => {
    const a = parseAttribute(text);
    expect(a.positive.prompts).toEqual(['Scary photo.']);
    expect(a.negative.prompts).toEqual(['Peaceful photo.']);
  });

  it('capitalises only the first letter and keeps the rest', () => {
    expect(parseAttribute('high contrast vs low contrast').positive.prompts).toEqual(['High contrast photo.']);
    expect(parseAttribute('high contrast vs low contrast').negative.prompts).toEqual(['Low contrast photo.']);
    expect(parseAttribute('HDR vs flat').positive.prompts).toEqual(['HDR photo.']);
    expect(parseAttribute('well-lit vs underexposed').positive.prompts).toEqual(['Well-lit photo.']);
  });

  it('uses full prompts verbatim: ending with ".", three or more words, or quoted', () => {
    expect(parseAttribute('Outstanding picture. vs Horrible picture.')).toMatchObject({
      positive: { prompts: ['Outstanding picture.'] },
      negative: { prompts: ['Horrible picture.'] },
    });
    expect(parseAttribute('a photo of a dog vs a photo of a cat').positive.prompts).toEqual(['a photo of a dog']);
    expect(parseAttribute('"sharp" vs blurry').positive.prompts).toEqual(['sharp']);
    expect(parseAttribute('blurry vs "in focus"').negative.prompts).toEqual(['in focus']);
  });

  it('does not split inside quotes', () => {
    const a = parseAttribute('"black/white photo" vs "colour photo vs nothing"');
    expect(a.positive.prompts).toEqual(['black/white photo']);
    expect(a.negative.prompts).toEqual(['colour photo vs nothing']);
  });

  it('does not split words that merely contain "vs"', () => {
    expect(parseAttribute('canvas vs paper').positive.prompts).toEqual(['Canvas photo.']);
  });

  it('rejects text without exactly two sides, with a readable message', () => {
    expect(() => parseAttribute('sharp')).toThrow(AttributeParseError);
    expect(() => parseAttribute('sharp')).toThrow(/vs/);
    expect(() => parseAttribute('a vs b vs c')).toThrow(/more than two/);
    expect(() => parseAttribute(' vs blurry')).toThrow(/two opposites|empty/);
    expect(() => parseAttribute('"" vs blurry')).toThrow(/empty/);
  });

  it('promptFor handles one side', () => {
    expect(promptFor('dark')).toBe('Dark photo.');
    expect(promptFor('dark.')).toBe('dark.');
    expect(promptFor('“dark”')).toBe('dark');
  });
});

describe('attributeFromPrompts (--pos / --neg)', () => {
  it('keeps prompts as given, with optional weights', () => {
    const a = attributeFromPrompts(['A sharp photo.', 'A crisp photo.'], ['A blurry photo.'], { positive: [2, 1] });
    expect(a.positive).toEqual({ prompts: ['A sharp photo.', 'A crisp photo.'], weights: [2, 1] });
    expect(a.negative).toEqual({ prompts: ['A blurry photo.'] });
    expect(a.label).toContain('vs');
  });

  it('validates', () => {
    expect(() => attributeFromPrompts([], ['x'])).toThrow(/positive/);
    expect(() => attributeFromPrompts(['a', 'b'], ['x'], { positive: [1] })).toThrow(/2 prompts but 1 weights/);
    expect(() => attributeFromPrompts(['a'], ['x'], { negative: [-1] })).toThrow(/non-negative/);
    expect(() => attributeFromPrompts(['a'], ['x'], { negative: [0] })).toThrow(/above zero/);
  });
});

describe('ensembles and context prompts', () => {
  it('fills every template with every adjective', () => {
    const a = ensemble('quality', ['good', 'great'], ['bad'], ['{} photo.', 'a {} picture.', 'a photo that is {}.']);
    expect(a.positive.prompts).toEqual([
      'Good photo.',
      'a good picture.',
      'a photo that is good.',
      'Great photo.',
      'a great picture.',
      'a photo that is great.',
    ]);
    expect(a.negative.prompts).toEqual(['Bad photo.', 'a bad picture.', 'a photo that is bad.']);
    expect(a.positive.weights).toBeUndefined();
  });

  it('weights each adjective across its templates', () => {
    const a = ensemble('q', ['good', 'great'], ['bad'], ['{} photo.', 'a {} photo.'], { positive: [3, 1] });
    expect(a.positive.weights).toEqual([3, 3, 1, 1]);
    expect(() => ensemble('q', ['good'], ['bad'], ['no placeholder'])).toThrow(/\{\}/);
  });

  it('ships the 1000 ImageNet class names', () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    expect(IMAGENET_CLASSES[0]).toBe('tench');
    expect(IMAGENET_CLASSES[999]).toBe('toilet paper');
  });

  it('builds "a {adjective} photo of a {class}." per class, de-duplicated', () => {
    const a = withContext(parseAttribute('sharp vs blurry'), ['dog', 'cat', 'dog']);
    expect(a.positive.prompts).toEqual(['a sharp photo of a dog.', 'a sharp photo of a cat.']);
    expect(a.negative.prompts).toEqual(['a blurry photo of a dog.', 'a blurry photo of a cat.']);
    const full = withContext(parseAttribute('sharp vs blurry'));
    expect(full.positive.prompts).toHaveLength(998); // two names repeat in CLIP's list
    expect(full.positive.prompts).toContain('a sharp photo of a great white shark.');
  });

  it('recovers adjectives from CLIP-IQA prompts, refuses full prompts', () => {
    expect(adjectivesOf({ prompts: ['High contrast photo.', 'HDR photo.'] })).toEqual(['high contrast', 'HDR']);
    expect(() => withContext(parseAttribute('Outstanding picture. vs Horrible picture.'), ['dog'])).toThrow(/full prompt/);
    const explicit = withContext(parseAttribute('Outstanding picture. vs Horrible picture.'), ['dog'], {
      positive: ['outstanding'],
      negative: ['horrible'],
    });
    expect(explicit.positive.prompts).toEqual(['a outstanding photo of a dog.']);
  });
});

describe('parseQuery (combinations and presets)', () => {
  it('splits on "+" and reads weights before or after', () => {
    const q = parseQuery('sharp vs blurry + 0.5*bright vs dark + dark vs light * 2', presetLookup);
    expect(q.attributes.map((a) => [a.label, a.weight])).toEqual([
      ['sharp vs blurry', undefined],
      ['bright vs dark', 0.5],
      ['dark vs light', 2],
    ]);
    expect((q.attributes[1] as Attribute).positive.prompts).toEqual(['Bright photo.']);
    expect(parseQuery('2x scary vs peaceful').attributes[0].weight).toBe(2);
    expect(parseQuery('2 × scary vs peaceful').attributes[0].weight).toBe(2);
  });

  it('names @signals (presets, @laion, @taste:NAME), weighted too, and reports unknown ones', () => {
    const q = parseQuery('@quality + 0.5 * @sharp + @laion + 2*@taste: "Anna & Ben" + @Taste', presetLookup);
    expect(q.attributes).toEqual([
      { label: 'quality: good vs bad', signal: 'quality' },
      { label: 'sharpness: sharp vs blurry', signal: 'sharpness', weight: 0.5 },
      { label: 'LAION aesthetic (1–10)', signal: 'laion' },
      { label: 'Taste: Anna & Ben', signal: 'taste:Anna & Ben', weight: 2 },
      { label: 'My taste', signal: 'taste:my taste' },
    ]);
    expect(() => parseQuery('@tasteful', Object.assign((n: string) => presetLookup(n), { known: ['quality', 'laion'] }))).toThrow(/Unknown signal "@tasteful".*@quality, @laion/);
    expect(() => parseQuery('@nope', presetLookup)).toThrow(/Unknown signal "@nope"/);
    // The weight is set on a copy: the built-in preset stays unweighted.
    expect(getPreset('sharpness')!.attribute.weight).toBeUndefined();
  });

  it('keeps a "+" inside quotes and gives duplicate labels distinct keys', () => {
    const q = parseQuery('"flash + ambient light" vs "dark room" + sharp vs blurry + sharp vs blurry');
    expect((q.attributes[0] as Attribute).positive.prompts).toEqual(['flash + ambient light']);
    expect(q.attributes.map((a) => a.label)).toEqual(['"flash + ambient light" vs "dark room"', 'sharp vs blurry', 'sharp vs blurry (2)']);
  });

  it('rejects empty and zero-weight terms', () => {
    expect(() => parseQuery('   ')).toThrow(AttributeParseError);
    expect(() => parseQuery('0*sharp vs blurry')).toThrow(/above zero/);
  });

  it('combine() takes attributes with weights and a threshold', () => {
    const q = combine([{ attribute: parseAttribute('sharp vs blurry'), weight: 2 }, parseAttribute('bright vs dark')], 0.6);
    expect(q.minScore).toBe(0.6);
    expect(q.attributes.map((a) => a.weight)).toEqual([2, undefined]);
    expect(() => combine([], 0.5)).toThrow();
    expect(() => combine([parseAttribute('a vs b')], 2)).toThrow(/minScore/);
  });
});

describe('presets', () => {
  it('has the built-ins, each with a desirable positive pole', () => {
    const ids = PRESETS.map((p) => p.id);
    for (const id of ['quality', 'brightness', 'noise', 'sharpness', 'colorfulness', 'contrast', 'aesthetics', 'happy', 'scary', 'complexity', 'natural', 'new']) {
      expect(ids).toContain(id);
    }
    const noise = getPreset('noise')!;
    expect(noise.label).toBe('noise: clean vs noisy');
    expect(noise.attribute.positive.prompts).toEqual(['Clean photo.']);
    expect(noise.attribute.negative.prompts).toEqual(['Noisy photo.']);
    expect(getPreset('contrast')!.attribute.positive.prompts).toEqual(['High contrast photo.']);
    expect(getPreset('aesthetics')!.attribute.positive.prompts).toContain('Outstanding picture.');
    expect(getPreset('@Colourfulness')!.id).toBe('colorfulness');
    for (const p of PRESETS) {
      expect(p.label && p.description).toBeTruthy();
      expect(p.attribute.positive.prompts.length).toBeGreaterThan(0);
      expect(p.attribute.negative.prompts.length).toBeGreaterThan(0);
    }
    expect(presetInfos()[0]).toEqual({ id: PRESETS[0].id, label: PRESETS[0].label, description: PRESETS[0].description });
  });
});
