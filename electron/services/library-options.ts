// The shapes the facade (library.ts) takes and gives beyond the API's records: how a library is
// opened, how lists are cut, what an export selection is, and the note that the library was opened
// with another model than it was indexed with. Types only; re-exported by library.ts.
import type { AttributeQuery, ExportOptions, PhotoFilter } from '../../common/types.ts';
import type { ModelSource, RememberedModel } from '../../db/library-model.ts';
import type { ModelInfo } from '../../native-models/types.ts';

export interface LibraryOptions {
  dbPath: string;
  /** A loaded model folder, or its path (`modelDir`). */
  model?: ModelInfo;
  modelDir?: string;
  quantized?: boolean;
  /** Where the model was loaded from, remembered when the library is indexed (default: its folder). */
  modelSource?: ModelSource;
  /** Open without a model: no model is loaded or needed; methods that need one throw 'no-model'. */
  catalog?: boolean;
  /** Thumbnail cache (default: "thumbs" beside the database). */
  thumbsDir?: string;
  threads?: number;
}

export interface ListOptions {
  filter?: PhotoFilter;
  /** A count, or a share of the matching photos such as "10%". */
  top?: number | string;
  /** false: results without paths (the window has its photo records; saves time and bytes at 100k). */
  paths?: boolean;
}

export interface ExportSelection {
  /** Rank by this query; without it, photos keep capture order. */
  by?: string | AttributeQuery;
  top?: number | string;
  minScore?: number;
  filter?: PhotoFilter;
  to: string;
  mode: 'copy' | 'link';
  xmp?: boolean;
  embedXmp?: boolean;
  xmpTarget?: ExportOptions['xmpTarget'];
  report?: string;
  onProgress?: (done: number, total: number, current?: string) => void;
  signal?: AbortSignal;
}

/** Opened with another model than the one the library was indexed with: its photos get embedded again. */
export interface ModelChange {
  from: RememberedModel;
  to: ModelInfo;
  /** Photos on disk without an embedding from the new model: what `index` will embed. */
  toEmbed: number;
}
