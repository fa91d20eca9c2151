/** One `Butler-SOS.userEvents.excludeUser` entry (reference §5). */
export interface ExcludedUser {
  directory: string;
  userId: string;
}

/** Tells whether an event's user is excluded. */
export type Excluder = (userDirectory: string, userId: string) => boolean;

/** Builds a case-insensitive excludeUser matcher (reference §5): both parts must match, no trimming, no wildcards. */
export function createExcluder(list: readonly ExcludedUser[]): Excluder {
  if (list.length === 0) return () => false;
  // Directory → user ids; nested so that "A\B"+"C" and "A"+"B\C" can never collide.
  const byDirectory = new Map<string, Set<string>>();
  for (const { directory, userId } of list) {
    const dir = directory.toLowerCase();
    let ids = byDirectory.get(dir);
    if (!ids) {
      ids = new Set();
      byDirectory.set(dir, ids);
    }
    ids.add(userId.toLowerCase());
  }
  return (userDirectory, userId) => {
    const ids = byDirectory.get(userDirectory.toLowerCase());
    return ids?.has(userId.toLowerCase()) === true;
  };
}
