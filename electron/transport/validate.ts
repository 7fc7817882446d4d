// The argument checks every API method's validator is built from (electron/transport/methods.ts),
// shared by the IPC handlers and the HTTP server: the renderer (or anything that reached the local
// port) is untrusted, so nothing reaches the Library facade before its arguments have been checked.
// Checks return the value normalised (paths resolved, nulls from JSON turned into undefined) or
// throw a UserError ('invalid-argument', or 'outside-library' for a folder outside the library).
import path from 'node:path';
import type { GroupsOptions, PreviousCulling } from '../../common/api-types.ts';
import { UserError } from '../../common/errors.ts';
import { LABELS } from '../../common/types.ts';
import type {
  Attribute,
  AttributeQuery,
  CullingChange,
  Flag,
  Label,
  PhotoFilter,
  Pole,
  QueryTerm,
  SignalTerm,
} from '../../common/types.ts';

export const LIMITS = {
  ids: 100_000, // ids per call (setCulling, restoreCulling, export)
  query: 2_000, // characters in a typed query or a prompt
  path: 4_096,
  roots: 1_000,
  attributes: 32, // attributes in one combined query
  prompts: 64, // prompts per pole
  top: 1_000_000,
  scoresPerPhoto: 64,
  groups: 100_000, // groups per rejectGroupCandidates call
  tasteName: 100, // characters in a taste model's name
  refitEvery: 10_000,
} as const;

export const invalid = (message: string): UserError => new UserError(message, 'invalid-argument');

// ---------------------------------------------------------------------------------------------
// Primitive checks

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** JSON turns `undefined` into `null`; optional arguments accept both. */
export const absent = (value: unknown): value is null | undefined => value === undefined || value === null;

export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw invalid(`${what}: unknown field "${key.slice(0, 64)}" (allowed: ${allowed.join(', ')}).`);
  }
}

export function checkId(value: unknown, what = 'id'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${what} must be a positive integer, got ${typeof value === 'number' ? value : describe(value)}.`);
  }
  return value;
}

export function checkIds(value: unknown, what = 'ids', opts: { min?: number } = {}): number[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array of photo ids, got ${describe(value)}.`);
  if (value.length > LIMITS.ids) throw invalid(`${what}: at most ${LIMITS.ids} ids per call, got ${value.length}.`);
  if (value.length < (opts.min ?? 0)) throw invalid(`${what} must contain at least ${opts.min} id.`);
  return value.map((v, i) => checkId(v, `${what}[${i}]`));
}

export function checkNumber(value: unknown, what: string, min: number, max: number, opts: { integer?: boolean } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${what} must be a finite number, got ${describe(value)}.`);
  if (opts.integer && !Number.isInteger(value)) throw invalid(`${what} must be an integer, got ${value}.`);
  if (value < min || value > max) throw invalid(`${what} must be between ${min} and ${max}, got ${value}.`);
  return value;
}

export function checkString(value: unknown, what: string, opts: { max?: number; nonEmpty?: boolean } = {}): string {
  const max = opts.max ?? LIMITS.query;
  if (typeof value !== 'string') throw invalid(`${what} must be a string, got ${describe(value)}.`);
  if (value.length > max) throw invalid(`${what} is too long (${value.length} characters, at most ${max}).`);
  if (opts.nonEmpty && value.trim() === '') throw invalid(`${what} must not be empty.`);
  return value;
}

export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${what} must be true or false, got ${describe(value)}.`);
  return value;
}

export function checkFlag(value: unknown, what = 'flag'): Flag {
  if (value !== -1 && value !== 0 && value !== 1) throw invalid(`${what} must be -1 (reject), 0 or 1 (pick), got ${String(value).slice(0, 32)}.`);
  return value;
}

export function checkLabel(value: unknown, what = 'label'): Label | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !(LABELS as readonly string[]).includes(value)) {
    throw invalid(`${what} must be one of ${LABELS.join(', ')} or null, got ${String(value).slice(0, 32)}.`);
  }
  return value as Label;
}

export function checkRating(value: unknown, what = 'rating'): number {
  return checkNumber(value, what, 0, 5, { integer: true });
}

/** An absolute, normalised path (no NUL, no relative segments); returned resolved. */
export function checkAbsolutePath(value: unknown, what: string): string {
  const p = checkString(value, what, { max: LIMITS.path, nonEmpty: true });
  if (p.includes('\0')) throw invalid(`${what} contains a NUL character.`);
  if (!path.isAbsolute(p)) throw invalid(`${what} must be an absolute path, got "${p.slice(0, 200)}".`);
  const resolved = path.resolve(p);
  // Trailing separators are harmless; ".." or "." segments and doubled separators are not accepted
  // because the caller should send the path the user picked, not something computed.
  const native = path.sep === '\\' ? p.replace(/\//g, '\\') : p;
  const trimmed = native.length > 1 ? native.replace(/[\\/]+$/, '') || native : native;
  if (resolved !== trimmed && resolved !== native) {
    throw invalid(`${what} must be a normalised path ("${resolved}"), got "${p.slice(0, 200)}".`);
  }
  return resolved;
}

/** True when `p` is `dir` itself or inside it (both absolute and resolved). */
export function isInside(p: string, dir: string): boolean {
  if (p === dir) return true;
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

// ---------------------------------------------------------------------------------------------
// Structured arguments

const FILTER_KEYS = ['folder', 'minRating', 'flag', 'label', 'takenAfter', 'takenBefore', 'status', 'outside'] as const;
const STATUS = ['ok', 'missing', 'failed', 'any'] as const;
const TIME_LIMIT = 8.64e15; // the range of a JS Date, in ms

export interface ValidationContext {
  /** The library's roots (absolute, resolved), for 'outside-library' checks. */
  roots(): Promise<string[]>;
}

export async function checkInsideRoots(p: string, what: string, ctx: ValidationContext): Promise<string> {
  const roots = await ctx.roots();
  if (!roots.some((r) => isInside(p, path.resolve(r)))) {
    throw new UserError(`${what}: ${p} is not inside any library folder. Add the folder to the library first.`, 'outside-library');
  }
  return p;
}

export async function checkFilter(value: unknown, ctx: ValidationContext, what = 'filter'): Promise<PhotoFilter | undefined> {
  if (absent(value)) return undefined;
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}.`);
  checkKeys(value, FILTER_KEYS, what);
  const out: PhotoFilter = {};
  if (!absent(value.folder)) out.folder = await checkInsideRoots(checkAbsolutePath(value.folder, `${what}.folder`), `${what}.folder`, ctx);
  if (!absent(value.minRating)) out.minRating = checkRating(value.minRating, `${what}.minRating`);
  if (!absent(value.flag)) out.flag = value.flag === 'any' ? 'any' : checkFlag(value.flag, `${what}.flag`);
  if (!absent(value.label)) {
    out.label = value.label === 'any' || value.label === 'none' ? value.label : (checkLabel(value.label, `${what}.label`) ?? undefined);
  }
  if (!absent(value.takenAfter)) out.takenAfter = checkNumber(value.takenAfter, `${what}.takenAfter`, -TIME_LIMIT, TIME_LIMIT);
  if (!absent(value.takenBefore)) out.takenBefore = checkNumber(value.takenBefore, `${what}.takenBefore`, -TIME_LIMIT, TIME_LIMIT);
  if (!absent(value.status)) {
    if (!(STATUS as readonly unknown[]).includes(value.status)) throw invalid(`${what}.status must be one of ${STATUS.join(', ')}.`);
    out.status = value.status as PhotoFilter['status'];
  }
  if (!absent(value.outside)) out.outside = checkBoolean(value.outside, `${what}.outside`);
  return out;
}

function checkPole(value: unknown, what: string): Pole {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object with prompts, got ${describe(value)}.`);
  checkKeys(value, ['prompts', 'weights'], what);
  if (!Array.isArray(value.prompts) || value.prompts.length === 0 || value.prompts.length > LIMITS.prompts) {
    throw invalid(`${what}.prompts must be an array of 1 to ${LIMITS.prompts} strings.`);
  }
  const prompts = value.prompts.map((p, i) => checkString(p, `${what}.prompts[${i}]`, { nonEmpty: true }));
  const pole: Pole = { prompts };
  if (!absent(value.weights)) {
    if (!Array.isArray(value.weights) || value.weights.length !== prompts.length) {
      throw invalid(`${what}.weights must be an array with one number per prompt.`);
    }
    pole.weights = value.weights.map((w, i) => checkNumber(w, `${what}.weights[${i}]`, -1000, 1000));
  }
  return pole;
}

/** A query term: typed prompts (an Attribute) or a named signal ({ label, signal, weight? }). */
function checkTerm(value: unknown, what: string): QueryTerm {
  if (isPlainObject(value) && 'signal' in value) {
    checkKeys(value, ['label', 'signal', 'weight'], what);
    const term: SignalTerm = { label: checkString(value.label, `${what}.label`), signal: checkString(value.signal, `${what}.signal`, { nonEmpty: true, max: 200 }) };
    if (!absent(value.weight)) term.weight = checkNumber(value.weight, `${what}.weight`, -1000, 1000);
    return term;
  }
  return checkAttribute(value, what);
}

function checkAttribute(value: unknown, what: string): Attribute {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}.`);
  checkKeys(value, ['label', 'positive', 'negative', 'weight'], what);
  const attr: Attribute = {
    label: checkString(value.label, `${what}.label`),
    positive: checkPole(value.positive, `${what}.positive`),
    negative: checkPole(value.negative, `${what}.negative`),
  };
  if (!absent(value.weight)) attr.weight = checkNumber(value.weight, `${what}.weight`, -1000, 1000);
  return attr;
}

/** A typed query string or an already parsed AttributeQuery. */
export function checkQuery(value: unknown, what = 'query'): string | AttributeQuery {
  if (typeof value === 'string') return checkString(value, what, { nonEmpty: true });
  if (!isPlainObject(value)) throw invalid(`${what} must be a query string or a parsed query, got ${describe(value)}.`);
  checkKeys(value, ['attributes', 'minScore'], what);
  if (!Array.isArray(value.attributes) || value.attributes.length === 0 || value.attributes.length > LIMITS.attributes) {
    throw invalid(`${what}.attributes must be an array of 1 to ${LIMITS.attributes} attributes.`);
  }
  const q: AttributeQuery = { attributes: value.attributes.map((a, i) => checkTerm(a, `${what}.attributes[${i}]`)) };
  if (!absent(value.minScore)) q.minScore = checkNumber(value.minScore, `${what}.minScore`, 0, 1);
  return q;
}

export async function checkScoreOptions(
  value: unknown, ctx: ValidationContext, what = 'options',
): Promise<{ filter?: PhotoFilter; top?: number; paths?: boolean } | undefined> {
  if (absent(value)) return undefined;
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}.`);
  checkKeys(value, ['filter', 'top', 'paths'], what);
  const out: { filter?: PhotoFilter; top?: number; paths?: boolean } = {};
  if (!absent(value.paths)) out.paths = checkBoolean(value.paths, `${what}.paths`);
  const filter = await checkFilter(value.filter, ctx, `${what}.filter`);
  if (filter) out.filter = filter;
  if (!absent(value.top)) out.top = checkNumber(value.top, `${what}.top`, 1, LIMITS.top, { integer: true });
  return out;
}

export function checkCullingChange(value: unknown, what = 'change'): CullingChange {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object with rating, flag and/or label, got ${describe(value)}.`);
  checkKeys(value, ['rating', 'flag', 'label'], what);
  const change: CullingChange = {};
  if (value.rating !== undefined) change.rating = checkRating(value.rating, `${what}.rating`);
  if (value.flag !== undefined) change.flag = checkFlag(value.flag, `${what}.flag`);
  if (value.label !== undefined) change.label = checkLabel(value.label, `${what}.label`);
  if (Object.keys(change).length === 0) throw invalid(`${what} must set at least one of rating, flag, label.`);
  return change;
}

export function checkPreviousCulling(value: unknown, what = 'previous'): PreviousCulling[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array, got ${describe(value)}.`);
  if (value.length > LIMITS.ids) throw invalid(`${what}: at most ${LIMITS.ids} entries per call, got ${value.length}.`);
  return value.map((v, i) => {
    const w = `${what}[${i}]`;
    if (!isPlainObject(v)) throw invalid(`${w} must be an object.`);
    checkKeys(v, ['id', 'rating', 'flag', 'label', 'flagAuto'], w);
    if (v.flagAuto !== undefined && typeof v.flagAuto !== 'boolean') throw invalid(`${w}.flagAuto must be true or false.`);
    return {
      id: checkId(v.id, `${w}.id`),
      rating: checkRating(v.rating, `${w}.rating`),
      flag: checkFlag(v.flag, `${w}.flag`),
      label: checkLabel(v.label ?? null, `${w}.label`),
      ...(v.flagAuto === true ? { flagAuto: true } : {}),
    };
  });
}

export function checkTasteName(value: unknown, what = 'name'): string {
  const name = checkString(value, what, { max: LIMITS.tasteName, nonEmpty: true }).trim();
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid(`${what} must not contain control characters.`);
  return name;
}

const GROUP_KEYS = ['strictness', 'by', 'filter', 'includeRejected'] as const;

export async function checkGroupsOptions(
  value: unknown, ctx: ValidationContext, what = 'options', extra: readonly 'includeUngrouped'[] = [],
): Promise<(GroupsOptions & { includeUngrouped?: boolean }) | undefined> {
  if (absent(value)) return undefined;
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}.`);
  checkKeys(value, [...GROUP_KEYS, ...extra], what);
  const out: GroupsOptions & { includeUngrouped?: boolean } = {};
  if (!absent(value.strictness)) out.strictness = checkNumber(value.strictness, `${what}.strictness`, 0, 100);
  if (!absent(value.by)) out.by = checkQuery(value.by, `${what}.by`);
  const filter = await checkFilter(value.filter, ctx, `${what}.filter`);
  if (filter) out.filter = filter;
  if (!absent(value.includeRejected)) out.includeRejected = checkBoolean(value.includeRejected, `${what}.includeRejected`);
  for (const key of extra) if (!absent(value[key])) out[key] = checkBoolean(value[key], `${what}.${key}`);
  return out;
}

export function checkGroupList(value: unknown, what = 'groups'): { ids: number[]; bestId: number }[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array of groups, got ${describe(value)}.`);
  if (value.length > LIMITS.groups) throw invalid(`${what}: at most ${LIMITS.groups} groups per call.`);
  let total = 0;
  return value.map((g, i) => {
    const w = `${what}[${i}]`;
    if (!isPlainObject(g)) throw invalid(`${w} must be an object with ids and bestId.`);
    checkKeys(g, ['ids', 'bestId'], w);
    const ids = checkIds(g.ids, `${w}.ids`, { min: 1 });
    total += ids.length;
    if (total > LIMITS.ids) throw invalid(`${what}: at most ${LIMITS.ids} photos in all.`);
    const bestId = checkId(g.bestId, `${w}.bestId`);
    if (!ids.includes(bestId)) throw invalid(`${w}.bestId (${bestId}) is not one of its ids.`);
    return { ids, bestId };
  });
}

/** `{ id }` naming one photo (photoFaces). */
export function checkPhotoRef(value: unknown, what = 'photo'): { id: number } {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object { id }, got ${describe(value)}.`);
  checkKeys(value, ['id'], what);
  return { id: checkId(value.id, `${what}.id`) };
}

/** Parses a photo id from a URL path segment: digits only, so nothing path-like gets through. */
export function parseIdSegment(segment: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(segment)) return null;
  const id = Number(segment);
  return Number.isSafeInteger(id) ? id : null;
}
