// The export dialog's request (api.exportPhotos), checked before anything is written: the photo ids,
// mode, XMP options and report scores with validate.ts's checks; the destination and the report as the
// photographer typed them, with typed-paths.ts (~ expanded, refused in words naming the path).
import type { ExportRequest } from '../../common/api-types.ts';
import { LIMITS, absent, checkBoolean, checkId, checkIds, checkKeys, checkNumber, checkString, describe, invalid, isPlainObject } from './validate.ts';
import { checkExportDestination, checkReportPath } from './typed-paths.ts';

function checkScores(value: unknown, what: string): Record<number, Record<string, number>> {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object keyed by photo id.`);
  const entries = Object.entries(value);
  if (entries.length > LIMITS.ids) throw invalid(`${what}: at most ${LIMITS.ids} photos.`);
  const out: Record<number, Record<string, number>> = {};
  for (const [key, parts] of entries) {
    if (!/^[1-9]\d{0,15}$/.test(key)) throw invalid(`${what}: "${key.slice(0, 32)}" is not a photo id.`);
    const id = checkId(Number(key), `${what} key`);
    if (!isPlainObject(parts)) throw invalid(`${what}[${key}] must be an object of named scores.`);
    const named = Object.entries(parts);
    if (named.length > LIMITS.scoresPerPhoto) throw invalid(`${what}[${key}]: at most ${LIMITS.scoresPerPhoto} scores per photo.`);
    const row: Record<string, number> = {};
    for (const [name, score] of named) {
      checkString(name, `${what}[${key}] name`, { max: LIMITS.query });
      row[name] = checkNumber(score, `${what}[${key}].${name.slice(0, 64)}`, -1e9, 1e9);
    }
    out[id] = row;
  }
  return out;
}

export async function checkExportOptions(value: unknown, what = 'options'): Promise<ExportRequest> {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}.`);
  checkKeys(value, ['photoIds', 'to', 'mode', 'xmp', 'embedXmp', 'xmpTarget', 'report', 'scores', 'createFolder'], what);
  const photoIds = checkIds(value.photoIds, `${what}.photoIds`, { min: 1 });
  const createFolder = !absent(value.createFolder) && checkBoolean(value.createFolder, `${what}.createFolder`);
  // What the photographer typed (destination, report) is checked and worded in typed-paths.ts.
  const to = await checkExportDestination(value.to, createFolder);
  if (value.mode !== 'copy' && value.mode !== 'link') throw invalid(`${what}.mode must be "copy" or "link".`);
  const opts: ExportRequest = { photoIds, to, mode: value.mode };
  if (!absent(value.xmp)) opts.xmp = checkBoolean(value.xmp, `${what}.xmp`);
  if (!absent(value.embedXmp)) opts.embedXmp = checkBoolean(value.embedXmp, `${what}.embedXmp`);
  if (!absent(value.xmpTarget)) {
    if (!['standard', 'digikam', 'photomechanic'].includes(value.xmpTarget as string)) throw invalid(`${what}.xmpTarget must be standard, digikam or photomechanic.`);
    opts.xmpTarget = value.xmpTarget as 'standard' | 'digikam' | 'photomechanic';
  }
  if (!absent(value.report)) opts.report = await checkReportPath(value.report, to, createFolder);
  if (!absent(value.scores)) opts.scores = checkScores(value.scores, `${what}.scores`);
  if (createFolder) opts.createFolder = true;
  return opts;
}
