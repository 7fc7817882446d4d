// What the library's services share: the database, the model, the in-memory embedding matrix and
// the scorer, handed to each service by the facade (library.ts) instead of callbacks into it.
import type { AttributeQuery } from '../../common/types.ts';
import type { Scorer } from './signals/scoring.ts';
import type { SignalContext } from './signals/signal.ts';
import { parseQuery } from './signals/attributes.ts';
import { signalLookup } from './signals/registry.ts';

export interface LibraryContext extends SignalContext {
  thumbsDir: string;
  scorer: Scorer;
  /** Picks up rows another process (the CLI beside the app) wrote, before the matrix is read. */
  sync(): void;
}

/** What was typed (or a query already parsed) as a query; "@names" checked against this library's signals. */
export function toQuery(ctx: LibraryContext, query: string | AttributeQuery): AttributeQuery {
  return typeof query === 'string' ? parseQuery(query, signalLookup(ctx)) : query;
}

/** A query as one line ("@quality + 0.5*sharp vs blurry"), for labels. */
export function queryLabel(query: string | AttributeQuery): string {
  if (typeof query === 'string') return query.trim();
  return query.attributes.map((t) => (t.weight !== undefined && t.weight !== 1 ? `${t.weight}*` : '') + ('signal' in t ? '@' + t.signal : t.label)).join(' + ');
}
