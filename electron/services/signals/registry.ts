// Which signals a "@name" can name. Each family of signals is a provider: the presets (CLIP-IQA
// pairs and ensembles), the LAION aesthetic head, the taste models — and, one line each, the
// analyzers' signals to come. The query parser asks `lookup` what a name means (for its label and
// the "unknown @name" message); ranking asks `resolve` for the signal itself, which may still say
// that it is unavailable for this library (the LAION head on another architecture, a taste model not
// fitted yet).
import { UserError } from '../../../common/errors.ts';
import type { SignalTerm } from '../../../common/types.ts';
import type { PresetInfo } from '../../../common/api-types.ts';
import { aestheticSignals } from './aesthetic.ts';
import { faceSignals } from './faces.ts';
import { presetSignals } from './presets.ts';
import type { Signal, SignalContext } from './signal.ts';
import { tasteSignals } from './taste.ts';
import { technicalSignals } from './technical.ts';

export interface SignalProvider {
  /** The canonical name and label of the signal `name` (without "@") means, or null when it is not this provider's. */
  match(name: string): Omit<SignalTerm, 'weight'> | null;
  /** The signal for a canonical name; throws a UserError (saying what to do) when it is unavailable here. */
  resolve(name: string, ctx: SignalContext): Signal;
  /** The signals offered to this library now, for lists, explanations and messages. */
  list(ctx: SignalContext): PresetInfo[];
}

/** Every family of named signals, in the order lists show them. */
const PROVIDERS: readonly SignalProvider[] = [presetSignals, aestheticSignals, tasteSignals, technicalSignals, faceSignals];

/** What the query parser needs: a name → its term, and the names to suggest. */
export interface SignalLookup {
  (name: string): Omit<SignalTerm, 'weight'> | undefined;
  known?: readonly string[];
}

function providerOf(name: string): { provider: SignalProvider; term: Omit<SignalTerm, 'weight'> } | null {
  for (const provider of PROVIDERS) {
    const term = provider.match(name);
    if (term) return { provider, term };
  }
  return null;
}

export function listSignals(ctx: SignalContext): PresetInfo[] {
  return PROVIDERS.flatMap((p) => p.list(ctx));
}

/** For parseQuery: names resolve without a library; `known` lists what this library offers. */
export function signalLookup(ctx?: SignalContext): SignalLookup {
  const lookup = (name: string) => providerOf(name)?.term;
  return Object.assign(lookup, { known: ctx ? listSignals(ctx).map((s) => s.id) : undefined });
}

export function resolveSignal(name: string, ctx: SignalContext): Signal {
  const found = providerOf(name);
  if (!found) {
    throw new UserError(`Unknown signal "@${name}". Available here: ${listSignals(ctx).map((s) => '@' + s.id).join(', ')}.`);
  }
  return found.provider.resolve(found.term.signal, ctx);
}
