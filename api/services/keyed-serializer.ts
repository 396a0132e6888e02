/**
 * Runs tasks that share a key one after another, in this process (tasks of different keys run freely).
 * Why: FerretDB (the local and test database) applies an update as read-modify-write without locking the
 * document, so concurrent updates of one document lose writes (20 concurrent `$push`es kept 5 in a probe).
 * MongoDB is atomic per document; this keeps one process correct on FerretDB too.
 */
export function createKeyedSerializer() {
  const tails = new Map<string, Promise<unknown>>();
  return function serialize<Result>(key: string, task: () => Promise<Result>): Promise<Result> {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    // The last task of a key removes it, so the map holds only keys with work queued.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
