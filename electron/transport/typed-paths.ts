// The paths a photographer types in the window (the folder field, the export dialog's destination and
// report): "~" expanded as a shell would, then checked, and refused in words — what happened in the
// message, what to do in the hint (common/errors.ts), the path named and never a parameter name.
// Which folders are allowed is the one rule of electron/services/folders.ts; this file words it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../common/errors.ts';
import { forbiddenFolderReason } from '../services/folders.ts';
import { checkAbsolutePath } from './validate.ts';

const refuse = (message: string, hint: string): UserError => new UserError(message, 'invalid-argument', { hint });

const EXAMPLE = process.platform === 'win32' ? 'C:\\Users\\you\\Pictures' : '/home/you/Pictures';

/** "~" and "~/Pictures" as typed: the home folder (a shell would expand it). */
export function expandHome(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value === '~') return os.homedir();
  return /^~[\\/]/.test(value) ? path.join(os.homedir(), value.slice(2)) : value;
}

/** A typed path, `what` being how the window names it ("The destination folder"): ~ expanded, absolute. */
export function checkTypedPath(value: unknown, what: string): string {
  const p = expandHome(value);
  if (typeof p === 'string' && p.trim() !== '' && !p.includes('\0') && !path.isAbsolute(p)) {
    throw refuse(`${what} "${p.slice(0, 200)}" is not a full path.`, `Type the whole path from the top, e.g. ${EXAMPLE}, or start it with ~ for your home folder.`);
  }
  return checkAbsolutePath(p, what);
}

async function statOrNull(p: string): Promise<fs.Stats | null> {
  return fs.promises.stat(p).catch(() => null);
}

/** A folder that may become a library folder: it exists, is a folder, and is no disk root, system folder or home. */
export async function checkLibraryFolder(value: unknown): Promise<string> {
  const p = checkTypedPath(value, 'The folder');
  const st = await statOrNull(p);
  if (!st) throw refuse(`The folder ${p} does not exist.`, 'Check the spelling (~ is your home folder) and try again.');
  if (!st.isDirectory()) throw refuse(`${p} is a file, not a folder.`, 'Add the folder that holds it.');
  // Refusing these keeps a compromised or confused renderer from turning "add a library folder"
  // into "index and serve every image on the disk".
  const reason = forbiddenFolderReason(p);
  if (reason) throw refuse(`The folder ${reason}.`, 'Add the folder that holds your photos, e.g. ~/Pictures.');
  return p;
}

/**
 * Where an export may write: an existing folder, or (with `create`) a folder that does not exist yet
 * directly inside an existing one — one level only, so a typo cannot create a whole tree somewhere
 * unexpected. Nothing is created here; the export creates it when it starts.
 */
export async function checkExportDestination(value: unknown, create: boolean): Promise<string> {
  const p = checkTypedPath(value, 'The destination folder');
  const st = await statOrNull(p);
  if (st && !st.isDirectory()) throw refuse(`${p} is a file, not a folder.`, 'Type the folder to export into: the one that holds this file, or a new one.');
  if (!st && !create) {
    throw refuse(`The destination folder ${p} does not exist.`, 'Tick “Create the folder if it does not exist”, or choose an existing folder, then export again.');
  }
  if (!st) {
    const parent = path.dirname(p);
    const pst = parent === p ? null : await statOrNull(parent);
    if (!pst) {
      throw refuse(`Neither ${p} nor its parent folder ${parent} exists.`, `Cull creates only the last folder of the destination: create ${parent} first, or choose an existing folder.`);
    }
    if (!pst.isDirectory()) throw refuse(`${parent} is a file, not a folder.`, 'Choose another destination.');
  }
  const reason = forbiddenFolderReason(p);
  if (reason) throw refuse(`The destination folder ${reason}.`, 'Cull exports only into a folder of your own: choose one, e.g. ~/Pictures/selects.');
  return p;
}

/** The report's file: .csv or .json, in an allowed folder that exists (or is the destination about to be created). */
export async function checkReportPath(value: unknown, dest: string, createsDest: boolean): Promise<string> {
  const report = checkTypedPath(value, 'The report');
  if (!/\.(csv|json)$/i.test(report)) {
    throw refuse(`The report ${path.basename(report)} is neither a .csv nor a .json file.`, 'End its name in .csv (for a spreadsheet) or .json.');
  }
  const dir = path.dirname(report);
  const reason = forbiddenFolderReason(dir);
  if (reason) throw refuse(`The report's folder ${reason}.`, 'Put the report in the destination folder, or another folder of your own.');
  if (createsDest && dir === dest) return report; // the report goes into the destination the export creates
  const st = await statOrNull(dir);
  if (!st) throw refuse(`The report's folder ${dir} does not exist.`, 'Put the report in the destination folder or another existing folder, or untick “Write a CSV report”.');
  if (!st.isDirectory()) throw refuse(`${dir} is a file, not a folder: the report cannot go there.`, 'Put the report in the destination folder.');
  return report;
}
