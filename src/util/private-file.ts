import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { ConfigError, UsageError } from '../errors.js';

/**
 * Key files beside the inventory (the gossip key, the CA key): read only when no one else can
 * read them, written so that a key is never replaced behind anyone's back.
 */

/** The text of `file`, or undefined when there is none; refused when others can read it. */
export async function readPrivateFile(file: string, what: string): Promise<string | undefined> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((st.mode & 0o077) !== 0) {
    throw new ConfigError([
      {
        file,
        message: `${what} file is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      },
    ]);
  }
  return readFile(file, 'utf8');
}

/**
 * Creates `file` with `mode` and writes `text`; an existing file is an error (`refusal` says
 * why drover does not replace it) unless `replace` is set.
 */
export async function writePrivateFile(
  file: string,
  text: string | Buffer,
  o: { mode: number; refusal: string; replace?: boolean },
): Promise<void> {
  const flags = o.replace
    ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
    : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  let handle;
  try {
    handle = await open(file, flags, o.mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${file} already exists; ${o.refusal}`);
    throw err;
  }
  try {
    // open()'s mode is only used when the file is created, and the umask narrows it.
    await handle.chmod(o.mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** The text of a file others may read (a certificate), or undefined when there is none. */
export async function readFileIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * `text` in a new temp file beside `file`, with `mode`, on disk before the caller gives it its
 * final name (rename to replace, link to refuse a file made meanwhile): a crash must not leave
 * a half-written or empty file under that name. Returns the temp file's path.
 */
export async function syncedTempBeside(file: string, text: string | Buffer, mode: number): Promise<string> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writePrivateFile(tmp, text, { mode, refusal: 'a temp file of this name exists' });
  try {
    await syncFile(tmp);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return tmp;
}

/**
 * Replaces `file` atomically: the new text goes to a temp file beside it, on disk, then takes
 * the name. A run cut short leaves the old file or the new one, never half of either.
 */
export async function replacePrivateFile(file: string, text: string | Buffer, mode: number): Promise<void> {
  const tmp = await syncedTempBeside(file, text, mode);
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
