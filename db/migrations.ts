// Schema migrations, applied in order; entry i upgrades user_version i to i+1. Never edit a shipped entry: append.
export const MIGRATIONS: string[] = [
  /* 1: initial schema */ `
  CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- absolute folder the user added
    added_at INTEGER NOT NULL
  );

  CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- absolute path as the file system gave it (may be non-UTF-8: stored as given by Node)
    folder TEXT NOT NULL,               -- dirname(path), for folder filters
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,          -- content hash (size + head + tail), recognises renamed/moved files
    width INTEGER,                      -- oriented pixel dimensions of the original
    height INTEGER,
    taken_at INTEGER,                   -- capture time, ms since epoch (EXIF DateTimeOriginal), NULL if unknown
    camera TEXT,
    lens TEXT,
    thumb TEXT,                         -- thumbnail file name inside the thumbnail cache folder
    status TEXT NOT NULL DEFAULT 'ok',  -- ok | missing (file gone, kept for its ratings) | failed
    error TEXT,                         -- reason when status = failed
    indexed_at INTEGER NOT NULL,
    rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    flag INTEGER NOT NULL DEFAULT 0 CHECK (flag IN (-1, 0, 1)),   -- -1 reject, 0 none, 1 pick
    label TEXT CHECK (label IN ('red','yellow','green','blue','purple'))
  );
  CREATE INDEX photos_fingerprint ON photos(fingerprint);
  CREATE INDEX photos_folder ON photos(folder);
  CREATE INDEX photos_taken_at ON photos(taken_at);

  CREATE TABLE embeddings (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    vec BLOB NOT NULL,                  -- L2-normalised image embedding, float16 little-endian (db/vectors.ts)
    PRIMARY KEY (photo_id, model_id)
  ); -- a rowid table: a 1 KB BLOB beside a WITHOUT ROWID key spills to overflow pages and reads ~4x slower
  CREATE INDEX embeddings_model ON embeddings(model_id);

  CREATE TABLE text_features (
    model_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    vec BLOB NOT NULL,                  -- L2-normalised text embedding, float32 little-endian
    PRIMARY KEY (model_id, prompt)
  ) WITHOUT ROWID;

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  /* 2: learned taste models (electron/services/signals/taste.ts) */ `
  CREATE TABLE taste_models (
    name TEXT NOT NULL,                 -- "my taste", a client, a genre
    model_id TEXT NOT NULL,             -- the CLIP model whose embeddings it was fitted on
    kind TEXT NOT NULL DEFAULT 'ridge', -- ridge regression of the culling decisions on the embeddings
    dim INTEGER NOT NULL,
    weights BLOB NOT NULL,              -- float32 little-endian, dim values: score = weights·x + bias
    bias REAL NOT NULL,
    lambda REAL NOT NULL,               -- regularisation chosen by cross-validation
    examples INTEGER NOT NULL,          -- decisions it was fitted on (picks + rejects + rated photos)
    picks INTEGER NOT NULL,
    rejects INTEGER NOT NULL,
    rated INTEGER NOT NULL,
    metric TEXT NOT NULL,               -- validation metric, 'spearman' (cross-validated rank correlation)
    validation REAL,                    -- its value
    auc REAL,                           -- cross-validated ROC AUC when the decisions are only picks and rejects
    folds INTEGER NOT NULL,
    scope TEXT,                         -- JSON PhotoFilter the decisions were drawn from; NULL = whole library
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, model_id)
  ) WITHOUT ROWID;
  `,
  /* 3: the embedding matrix's library stamp and bucket checksums (electron/services/matrix/matrix-snapshot.ts,
        embedding-matrix.ts reconcile) scan this narrow index instead of the photos table: 1M photos
        in ~0.1 s instead of ~0.4 s */ `
  CREATE INDEX photos_status_stamp ON photos(status, id, indexed_at);
  `,
  /* 4: the analyzers' ledger (electron/services/indexing/analyzers/analyzer.ts): which photos each
        analyzer has done, at which version, so adding or upgrading one runs just it over the library */ `
  CREATE TABLE analyses (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    analyzer TEXT NOT NULL,             -- Analyzer.id
    version INTEGER NOT NULL,           -- Analyzer.version that produced the photo's stored results
    analyzed_at INTEGER NOT NULL,
    PRIMARY KEY (photo_id, analyzer)
  ) WITHOUT ROWID;
  CREATE INDEX analyses_analyzer ON analyses(analyzer, version);
  `,
  /* 5: decisions shared with other applications through XMP (db/xmp-sync.ts, electron/services/culling/xmp.ts):
        what Cull decided and has yet to write, and what was read from sidecars and embedded XMP at index */ `
  CREATE TABLE xmp_sync (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    cull_set INTEGER NOT NULL DEFAULT 0,  -- XMP fields whose value Cull decided (bits: 1 rating incl. reject, 2 label, 4 pick)
    dirty INTEGER NOT NULL DEFAULT 0,     -- of those, changed in Cull since its last sidecar write
    changed_at INTEGER,                   -- ms: Cull's last decision on the photo
    written_at INTEGER,                   -- ms: Cull's last sidecar write for it
    sidecar_mtime INTEGER                 -- the sidecar's mtime after Cull wrote or last read it (unchanged: not read again)
  );
  CREATE TABLE outside_decisions (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    outside_rating INTEGER,               -- xmp:Rating as read, -1 (rejected) .. 5
    outside_label TEXT,                   -- the label as written (xmp:Label, digiKam ColorLabel n, darktable colorlabels n)
    outside_pick INTEGER,                 -- digiKam PickLabel: 1 accepted, -1 rejected
    outside_source TEXT NOT NULL,         -- 'sidecar' | 'embedded'
    outside_path TEXT NOT NULL,           -- the sidecar, or the photo holding the packet
    outside_modified_at INTEGER,          -- xmp:MetadataDate (or ModifyDate), else the file's mtime, ms
    outside_applied INTEGER NOT NULL DEFAULT 0, -- fields taken into the photo's rating/flag/label (bits as cull_set)
    outside_read_at INTEGER NOT NULL
  );
  `,
  /* 6: who set a photo's flag: NULL = the photographer, 'auto' = "keep the best" (K, cull groups
        --reject-others) rejecting a stack's other members. "My taste" learns only from the former
        (electron/services/signals/taste.ts collectDecisions) */ `
  ALTER TABLE photos ADD COLUMN flag_source TEXT CHECK (flag_source IS NULL OR flag_source = 'auto');
  `,
  /* 7: capture settings from EXIF, read at index (electron/services/indexing/metadata.ts), shown in
        the loupe and as tile captions */ `
  ALTER TABLE photos ADD COLUMN exposure_time REAL;   -- seconds
  ALTER TABLE photos ADD COLUMN f_number REAL;
  ALTER TABLE photos ADD COLUMN iso INTEGER;
  ALTER TABLE photos ADD COLUMN focal_length REAL;    -- mm
  ALTER TABLE photos ADD COLUMN exposure_bias REAL;   -- EV
  `,
  /* 8: embeddings packed by blocks of 4096 photo ids (db/embedding-packs.ts): a cold open reads a
        block's BLOBs as a few values instead of walking ~4096 rows (~2x less CPU in SQLite). A copy,
        never the truth: every write to embeddings drops the packs of its block in the same
        transaction (the triggers), so a pack present always equals what the rows would give. */ `
  CREATE TABLE embedding_packs (
    model_id TEXT NOT NULL,
    block INTEGER NOT NULL,             -- photo ids block·4096 … block·4096 + 4095 (photo_id >> 12)
    part INTEGER NOT NULL,              -- photo ids part·512 … part·512 + 511 (photo_id >> 9) of the block
    bytes INTEGER NOT NULL,             -- length of every vec in the block (one with mixed lengths is not packed)
    count INTEGER NOT NULL,
    ids TEXT NOT NULL,                  -- the photo ids, ascending, comma-separated
    vecs BLOB NOT NULL,                 -- their vecs back to back, in that order
    PRIMARY KEY (model_id, block, part)
  );
  CREATE TRIGGER embedding_packs_insert AFTER INSERT ON embeddings BEGIN
    DELETE FROM embedding_packs WHERE model_id = NEW.model_id AND block = NEW.photo_id >> 12;
  END;
  CREATE TRIGGER embedding_packs_update AFTER UPDATE ON embeddings BEGIN
    DELETE FROM embedding_packs WHERE model_id = OLD.model_id AND block = OLD.photo_id >> 12;
    DELETE FROM embedding_packs WHERE model_id = NEW.model_id AND block = NEW.photo_id >> 12;
  END;
  CREATE TRIGGER embedding_packs_delete AFTER DELETE ON embeddings BEGIN
    DELETE FROM embedding_packs WHERE model_id = OLD.model_id AND block = OLD.photo_id >> 12;
  END;
  `,
];
