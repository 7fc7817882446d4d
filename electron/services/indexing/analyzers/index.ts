// The analyzers the indexer runs over each decoded photo, in order. Adding one is a line here.
import type { ClipModel } from '../../../../native-models/types.ts';
import type { Analyzer } from './analyzer.ts';
import { ClipAnalyzer } from './clip.ts';
import { FacesAnalyzer } from './faces.ts';
import { TechnicalAnalyzer } from './technical.ts';

export type { Analyzer, AnalyzerInput, DecodeNeeds } from './analyzer.ts';
export { ClipAnalyzer } from './clip.ts';
export { FacesAnalyzer } from './faces.ts';
export { TechnicalAnalyzer } from './technical.ts';

export function defaultAnalyzers(model: ClipModel): Analyzer[] {
  return [
    new ClipAnalyzer(model),
    new TechnicalAnalyzer(),
    new FacesAnalyzer(),
  ];
}
