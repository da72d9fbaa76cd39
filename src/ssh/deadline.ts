/** Rejects with an ETIMEDOUT error when `promise` has not settled within `ms`; the caller cleans up. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(why()), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
