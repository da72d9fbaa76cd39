import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
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
  text: string,
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
