/**
 * A value for a Temporal visibility query, quoted. Values come from the command line, so a quote or a
 * backslash must never end the literal early and smuggle in query syntax: both are escaped, and
 * control characters are refused outright.
 */
export function quoteVisibilityValue(value: string): string {
  if ([...value].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f)) {
    throw new Error(`a query value may not contain control characters: ${JSON.stringify(value)}`);
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
