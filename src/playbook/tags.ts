/**
 * `--tags` / `--skip-tags` selection, with Ansible's special tags: `always` runs unless skipped
 * by name, `never` runs only when asked for by name, and `all`, `tagged`, `untagged` select by
 * whether a task has tags at all.
 */
export interface TagFilter {
  /** Run only tasks matching one of these; undefined or empty means `all`. */
  tags?: readonly string[];
  skipTags?: readonly string[];
}

export function tagsSelect(taskTags: readonly string[], filter: TagFilter): boolean {
  const has = (t: string) => taskTags.includes(t);
  const matches = (selector: string): boolean =>
    selector === 'tagged'
      ? taskTags.length > 0
      : selector === 'untagged'
        ? taskTags.length === 0
        : has(selector);

  const skip = filter.skipTags ?? [];
  if (skip.includes('all') || skip.some((s) => matches(s))) return false;

  const only = filter.tags && filter.tags.length > 0 ? filter.tags : ['all'];
  if (only.some((t) => t !== 'all' && matches(t))) return true;
  if (has('never')) return false;
  if (has('always')) return true;
  return only.includes('all');
}
