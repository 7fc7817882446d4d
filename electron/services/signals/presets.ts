// Built-in attributes. The pairs are CLIP-IQA's ("Exploring CLIP for Assessing the Look and Feel of
// Images", AAAI 2023) with one deliberate change: the positive pole is always the side a photographer
// keeps. CLIP-IQA scores noisiness as "Noisy photo." vs "Clean photo."; here it is
// "noise: clean vs noisy", so a high score means a clean photo and "sort by score" is "best first"
// for every preset. Quality and aesthetics average small prompt ensembles, as in
// "CLIP knows image aesthetics" (Hentschel, Kobs & Hotho 2022), for steadier zero-shot scores.
import type { PresetInfo } from '../../../common/api-types.ts';
import type { Attribute } from '../../../common/types.ts';
import { ensemble } from './attributes.ts';
import { ClipAttributeSignal } from './clip-attribute.ts';
import type { SignalProvider } from './registry.ts';

export interface Preset extends PresetInfo {
  attribute: Attribute;
}

function pair(label: string, positive: string, negative: string): Attribute {
  return { label, positive: { prompts: [positive] }, negative: { prompts: [negative] } };
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'quality',
    label: 'quality: good vs bad',
    description: 'Overall technical quality (CLIP-IQA "Good photo." vs "Bad photo.", averaged over four phrasings).',
    attribute: ensemble('quality: good vs bad', ['good'], ['bad'], ['{} photo.', 'a {} photo.', 'a {} picture.', 'a photo of {} quality.']),
  },
  {
    id: 'aesthetics',
    label: 'aesthetics: outstanding vs horrible',
    description: 'Aesthetic appeal: "Outstanding picture." style prompts vs "Horrible picture.", three adjectives × three phrasings.',
    attribute: ensemble(
      'aesthetics: outstanding vs horrible',
      ['outstanding', 'beautiful', 'good'],
      ['horrible', 'ugly', 'bad'],
      ['{} picture.', 'a {} photo.', 'a photo that is {}.'],
    ),
  },
  { id: 'brightness', label: 'brightness: bright vs dark', description: 'Exposure: bright vs dark photos.', attribute: pair('brightness: bright vs dark', 'Bright photo.', 'Dark photo.') },
  {
    id: 'noise',
    label: 'noise: clean vs noisy',
    description: 'Noise: high means clean. (CLIP-IQA pairs "Noisy photo." with "Clean photo."; reversed here so high is desirable.)',
    attribute: pair('noise: clean vs noisy', 'Clean photo.', 'Noisy photo.'),
  },
  { id: 'sharpness', label: 'sharpness: sharp vs blurry', description: 'Focus and motion blur: sharp vs blurry.', attribute: pair('sharpness: sharp vs blurry', 'Sharp photo.', 'Blurry photo.') },
  { id: 'colorfulness', label: 'colourfulness: colorful vs dull', description: 'Colour: colourful vs dull.', attribute: pair('colourfulness: colorful vs dull', 'Colorful photo.', 'Dull photo.') },
  { id: 'contrast', label: 'contrast: high vs low', description: 'Tonal contrast: high vs low contrast.', attribute: pair('contrast: high vs low', 'High contrast photo.', 'Low contrast photo.') },
  { id: 'happy', label: 'mood: happy vs sad', description: 'Feeling: happy vs sad.', attribute: pair('mood: happy vs sad', 'Happy photo.', 'Sad photo.') },
  { id: 'scary', label: 'scary vs peaceful', description: 'Feeling: scary vs peaceful.', attribute: pair('scary vs peaceful', 'Scary photo.', 'Peaceful photo.') },
  { id: 'complexity', label: 'complexity: complex vs simple', description: 'Content: complex vs simple scenes.', attribute: pair('complexity: complex vs simple', 'Complex photo.', 'Simple photo.') },
  { id: 'natural', label: 'natural vs synthetic', description: 'Natural photos vs synthetic (rendered, edited, generated) images.', attribute: pair('natural vs synthetic', 'Natural photo.', 'Synthetic photo.') },
  { id: 'new', label: 'new vs old', description: 'Look: new vs old photo.', attribute: pair('new vs old', 'New photo.', 'Old photo.') },
];

// British spellings and obvious synonyms people type after "@".
const ALIASES: Record<string, string> = {
  colourfulness: 'colorfulness',
  colorful: 'colorfulness',
  colourful: 'colorfulness',
  aesthetic: 'aesthetics',
  sharp: 'sharpness',
  bright: 'brightness',
  noisy: 'noise',
  noisiness: 'noise',
  mood: 'happy',
  complex: 'complexity',
};

export function getPreset(id: string): Preset | undefined {
  const key = id.trim().replace(/^@/, '').toLowerCase();
  return PRESETS.find((p) => p.id === (ALIASES[key] ?? key));
}

/** What the UI lists (no prompts: they are an implementation detail). */
export function presetInfos(): PresetInfo[] {
  return PRESETS.map(({ id, label, description }) => ({ id, label, description }));
}

/** The presets as named signals ("@quality", "@sharp"…): CLIP-IQA pairs, available with every model. */
export const presetSignals: SignalProvider = {
  match(name) {
    const p = getPreset(name);
    return p ? { signal: p.id, label: p.label } : null;
  },
  resolve(name) {
    return new ClipAttributeSignal(structuredClone(getPreset(name)!.attribute));
  },
  list: presetInfos,
};
