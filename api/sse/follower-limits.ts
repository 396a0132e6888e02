/**
 * How many SSE streams each user holds open. Counted in memory, so the limit is per API process: behind a
 * load balancer a user can hold up to `maxPerUser` open streams on each instance.
 */
export interface FollowerLimits {
  /** A release function when the user is under the limit (call it once the stream closes), else undefined. */
  tryAcquire(userId: string): (() => void) | undefined;
  /** Open streams the user holds on this process. */
  count(userId: string): number;
}

export function createFollowerLimits(maxPerUser: number): FollowerLimits {
  const open = new Map<string, number>();
  return {
    tryAcquire(userId) {
      const current = open.get(userId) ?? 0;
      if (current >= maxPerUser) return undefined;
      open.set(userId, current + 1);
      let released = false;
      // Idempotent: a route may release from both its finally block and a 'close' listener.
      return () => {
        if (released) return;
        released = true;
        const remaining = (open.get(userId) ?? 1) - 1;
        if (remaining > 0) open.set(userId, remaining);
        else open.delete(userId);
      };
    },
    count: (userId) => open.get(userId) ?? 0,
  };
}
