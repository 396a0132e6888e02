/** A stored document as the client sees it: no Mongo `_id`/`__v`. */
export function publicDocument(document: Record<string, unknown>): Record<string, unknown> {
  const { _id: _objectId, __v: _version, ...rest } = document;
  return rest;
}
