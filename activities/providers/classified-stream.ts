/**
 * An SDK's event stream whose failures (a dropped connection, an error event mid-stream) come out already
 * classified by the provider's classifier: retryable or final, as the provider interface promises.
 */
export async function* classifiedEvents<T>(stream: AsyncIterable<T>, classify: (error: unknown) => Error): AsyncGenerator<T> {
  const iterator = stream[Symbol.asyncIterator]();
  while (true) {
    let next: IteratorResult<T>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw classify(error);
    }
    if (next.done) return;
    yield next.value;
  }
}
