import { isRedactionMappingPayload } from '../domain/redaction-mapping-payload';

/**
 * Deterministic JSON: object keys sorted by UTF-16 code unit, no whitespace, `undefined` object
 * members dropped (as JSON.stringify does), non-finite numbers and non-JSON values rejected. Two
 * structurally equal values always give the same string, which is what makes hashes over it stable.
 * A redaction mapping is refused wherever it appears: it holds the originals redaction removed, and
 * this is the serialiser of the audit trail.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, new Set(), '$');
}

function serialize(value: unknown, ancestors: Set<object>, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      // JSON.stringify already renders -0 as 0 and uses the shortest round-tripping form.
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${typeof value} is not JSON at ${path}`);
  }
  const object = value as object;
  const withToJson = object as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    // Dates (and anything else that chose a JSON form) serialise the way JSON.stringify would.
    return serialize((withToJson.toJSON as () => unknown).call(object), ancestors, path);
  }
  if (ancestors.has(object)) throw new TypeError(`canonicalJson: circular reference at ${path}`);
  if (isRedactionMappingPayload(object)) {
    throw new TypeError(`canonicalJson: a redaction mapping at ${path} must never be serialised for audit`);
  }
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      // Arrays keep their length, so holes and undefined become null exactly as in JSON.stringify.
      const items = object.map((item: unknown, index) =>
        item === undefined || typeof item === 'function' || typeof item === 'symbol'
          ? 'null'
          : serialize(item, ancestors, `${path}[${index}]`),
      );
      return `[${items.join(',')}]`;
    }
    const prototype = Object.getPrototypeOf(object) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      // Maps, Sets, class instances would silently serialise as {} and lose data.
      throw new TypeError(`canonicalJson: only plain objects are JSON, found ${describe(object)} at ${path}`);
    }
    const record = object as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}:${serialize(member, ancestors, `${path}.${key}`)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

function describe(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'a non-plain object';
}
