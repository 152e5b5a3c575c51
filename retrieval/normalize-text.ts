/**
 * Normalises text once at ingest so hashes, chunk boundaries and token counts are stable: well-formed
 * UTF-16 (lone surrogates become U+FFFD), Unicode NFC, line endings `\n`, non-breaking and other
 * horizontal spaces become one plain space, trailing/leading spaces on lines dropped, and runs of blank
 * lines collapsed to a single paragraph break.
 */
export function normalizeText(input: string): string {
  return replaceLoneSurrogates(input)
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\t\v\f \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// String.prototype.toWellFormed is ES2024 and not in this project's lib; the scan is simple enough.
function replaceLoneSurrogates(input: string): string {
  return input.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
