import { Connection } from '@temporalio/client';
// Exported by the SDK for registering attributes; not re-exported from the package root.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { durachatSearchAttributeKeys } from '../shared/search-attributes.ts';

/**
 * Adds whichever durachat search attributes a running server lacks and returns their names. For a local
 * dev server this script did not start (one left running from before they existed): `start-dev
 * --search-attribute` only applies at start, and without them every run would be refused.
 */
export async function registerMissingSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = durachatSearchAttributeKeys.filter((key) => !Object.hasOwn(customAttributes ?? {}, key.name));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!])),
      });
    }
    return missing.map((key) => key.name);
  } finally {
    await connection.close();
  }
}
