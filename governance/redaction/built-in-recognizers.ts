// Long by design: a table of recognizers, each short, with the checksum code they need.
import { isIban, IBAN_LENGTHS, isIssuableSsn, isPaymentCardNumber } from './checksums';
import type { BuiltInEntityType, EntitySpan, Recognizer } from './entity-types';

/*
 * How these stay linear. JavaScript's regex engine backtracks, so every candidate pattern here obeys
 * three rules: it may only start at a token boundary (a negative lookbehind for the characters it is
 * made of, so a 32,000-character run offers one start, not 32,000); every quantifier is bounded; and no
 * quantified group can match the same text in two ways. Work per start is then bounded by a constant
 * and the scan is O(n). (PEM_BODY is the one exception to the second rule, and safe for the reason
 * given beside it.) Structure the regex cannot check (checksums, number layouts, context words) is
 * checked in code on the candidate, which is itself bounded in length. test/governance/redaction
 * times every recogniser on adversarial inputs.
 */

type Accept = (candidate: string, start: number, text: string) => Array<[number, number]>;

function candidateRecognizer(type: BuiltInEntityType, pattern: RegExp, accept: Accept): Recognizer {
  if (!pattern.global) throw new Error(`recognizer ${type}: its pattern must be global`);
  return {
    type,
    find(text) {
      const spans: EntitySpan[] = [];
      // A fresh RegExp per call keeps `lastIndex` local, so recognizers are safe to share.
      const scanner = new RegExp(pattern.source, pattern.flags);
      for (let match = scanner.exec(text); match !== null; match = scanner.exec(text)) {
        for (const [from, to] of accept(match[0], match.index, text)) {
          spans.push({ type, start: match.index + from, end: match.index + to });
        }
      }
      return spans;
    },
  };
}

const accepted = (candidate: string): Array<[number, number]> => [[0, candidate.length]];

/** The few characters before `start`, lower-cased: enough for a context word, and constant work. */
function textBefore(text: string, start: number, length = 40): string {
  return text.slice(Math.max(0, start - length), start).toLowerCase();
}

interface DigitGroup {
  start: number;
  end: number;
}

function digitGroupsOf(candidate: string): DigitGroup[] {
  const groups: DigitGroup[] = [];
  for (const match of candidate.matchAll(/\d+/g)) {
    groups.push({ start: match.index, end: match.index + match[0].length });
  }
  return groups;
}

const MAX_WINDOW_GROUPS = 8;

/** Whether a window may be cut at a separator: not where the number it belongs to simply goes on. */
function continuesAcross(cut: string | undefined, inside: string | undefined): boolean {
  return cut !== undefined && (cut === inside || (inside === undefined && (cut === '-' || cut === '.')));
}

/**
 * Numbers in prose run into their neighbours ("room 12 415-555-0100 2 lines"): when the whole
 * candidate is not valid, try windows of its digit groups, widest first, leftmost first. A window is cut
 * only where the separator differs from the one inside it — "3704 0044 0532 0130 01" is one long
 * number, not a phone number hiding in an account number — and must hold at least `minDigits` digits.
 * Candidates are short (bounded by their patterns), so this is constant work per candidate.
 */
function bestGroupWindow(
  candidate: string,
  minDigits: number,
  isValid: (value: string) => boolean,
): Array<[number, number]> {
  if (isValid(candidate)) return [[0, candidate.length]];
  const groups = digitGroupsOf(candidate);
  // separators[i] lies between groups i and i + 1, brackets aside; digitsBefore[i] counts groups < i.
  const separators = groups.slice(1).map((group, index) => {
    const separator = candidate.slice(groups[index]!.end, group.start);
    return separator.length === 1 ? separator : separator.replace(/[()]/g, '');
  });
  const digitsBefore = [0];
  for (const group of groups) digitsBefore.push(digitsBefore.at(-1)! + group.end - group.start);
  for (let size = Math.min(groups.length - 1, MAX_WINDOW_GROUPS); size >= 1; size -= 1) {
    for (let first = 0; first + size <= groups.length; first += 1) {
      const last = first + size - 1;
      if (digitsBefore[last + 1]! - digitsBefore[first]! < minDigits) continue;
      const inside = size > 1 ? separators[first] : undefined;
      if (continuesAcross(separators[first - 1], inside) || continuesAcross(separators[last], inside))
        continue;
      let from = first === 0 ? 0 : groups[first]!.start;
      let to = groups[last]!.end;
      if (candidate[from - 1] === '(') from -= 1;
      if (candidate[to] === ')' && candidate.slice(from, to).includes('(')) to += 1;
      if (isValid(candidate.slice(from, to))) return [[from, to]];
    }
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------
// EMAIL
// ---------------------------------------------------------------------------------------------------

/** Final labels that are file extensions rather than top-level domains: `icon@2x.png` is a file name. */
const FILE_EXTENSIONS: ReadonlySet<string> = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'tif', 'tiff', 'heic', 'pdf', 'txt', 'csv',
  'json', 'xml', 'yml', 'yaml', 'lock', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'css', 'scss', 'html',
  'htm', 'map', 'wasm', 'woff', 'woff2', 'ttf', 'otf', 'mp3', 'mp4', 'wav', 'mov', 'avi', 'gz', 'tgz',
]); // prettier-ignore

const EMAIL = candidateRecognizer(
  'EMAIL',
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}_%+-][\p{L}\p{N}._%+'-]{0,63}@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.){1,8}\p{L}{2,24}(?![\p{L}\p{N}_-]|\.[\p{L}\p{N}])/gu,
  (candidate) => {
    const at = candidate.lastIndexOf('@');
    const local = candidate.slice(0, at);
    if (local.endsWith('.') || local.includes('..')) return [];
    const tld = candidate.slice(candidate.lastIndexOf('.') + 1).toLowerCase();
    if (FILE_EXTENSIONS.has(tld)) return [];
    return accepted(candidate);
  },
);

// ---------------------------------------------------------------------------------------------------
// PHONE
// ---------------------------------------------------------------------------------------------------

/** Words that make a bare run of digits a phone number: "call 4155550100". */
const PHONE_CONTEXT =
  /(?:phone|tel|telephone|mobile|cell|cellphone|call|fax|whatsapp|sms|text|reach|ring|contact|hotline|dial)\b[^\p{L}\p{N}]{0,6}(?:(?:(?:me|us|at|on|is|no|nr|number|via|to)\b|#)[^\p{L}\p{N}]{0,4}){0,3}$/u;

const NANP_GROUPS = [
  [3, 3, 4],
  [1, 3, 3, 4],
];

function sameSizes(sizes: number[], expected: number[]): boolean {
  return sizes.length === expected.length && sizes.every((size, index) => size === expected[index]);
}

/** North American numbers: area code and exchange never start with 0 or 1. */
function isNanp(digits: string): boolean {
  const national = digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
  return national.length === 10 && /^[2-9]\d{2}[2-9]/.test(national);
}

/**
 * Decides whether a candidate is laid out like a phone number: international (`+` and 8–15 digits),
 * North American (3-3-4 with one kind of separator, optional leading 1 or `(area)`), or national with a
 * trunk 0 (`020 7946 0958`, `01 23 45 67 89`). A bare run of digits counts only after a phone word.
 */
function isPhoneNumber(candidate: string, hasContext: boolean): boolean {
  if (/[ .\-\u00a0]{2,}|\(\s|\s\)/.test(candidate)) return false;
  const international = candidate.startsWith('+');
  let body = international ? candidate.slice(1).trimStart() : candidate;
  // "+44 (0)20 7946 0958": the trunk zero in brackets is dialled only from inside the country.
  if (international) body = body.replace(/^(\d{1,3}[ .\-\u00a0]?)\(0\)[ \u00a0]?/, '$1');
  const open = body.indexOf('(');
  if (open !== body.lastIndexOf('(') || body.indexOf(')') !== body.lastIndexOf(')')) return false;
  if (open >= 0 && !/^(?:\d{1,3}[ .\-\u00a0]?)?\(\d{2,5}\)/.test(body)) return false;
  if (open >= 0 !== body.includes(')')) return false;
  const groups = body.match(/\d+/g) ?? [];
  const digits = groups.join('');
  const sizes = groups.map((group) => group.length);
  // One separator kind throughout, except right after an international country code ("+1 415-555-0100").
  const separators = new Set(
    body
      .replace(international ? /^\d{1,3}[ .\-\u00a0]/ : /^$/, '')
      .replace(/\)[ \-\u00a0]?/g, '')
      .replace(/[\d(]/g, ''),
  );
  // International numbers are often grouped with spaces and hyphens both ("+55 11 91234-5678").
  const mixed = international && separators.size === 2 && separators.has(' ') && separators.has('-');
  if (separators.size > 1 && !mixed) return false;
  if (international) {
    if (digits.length < 8 || digits.length > 15 || digits.startsWith('0')) return false;
    return digits.startsWith('1') && digits.length === 11 ? isNanp(digits) : true;
  }
  if (groups.length === 1) {
    return hasContext && (isNanp(digits) || /^0[1-9]\d{7,10}$/.test(digits));
  }
  if (isNanp(digits) && NANP_GROUPS.some((expected) => sameSizes(sizes, expected))) return true;
  return (
    /^0[1-9]/.test(digits) &&
    !sameSizes(sizes, [3, 2, 4]) &&
    digits.length >= 9 &&
    digits.length <= 12 &&
    sizes.every((size) => size >= 2) &&
    (sizes[0] ?? 0) <= 5
  );
}

const PHONE = candidateRecognizer(
  'PHONE',
  /(?<![\p{L}\p{N}_@+/.#$€£-])(?:\+[ \u00a0]?)?(?:\(\d{1,5}\)[ \u00a0]?|\d)[\d .()\u00a0-]{5,24}\d(?![\p{L}\p{N}_@%]|[./:-]\d)/gu,
  (candidate, start, text) => {
    const hasContext = PHONE_CONTEXT.test(textBefore(text, start));
    return bestGroupWindow(candidate, 8, (value) => isPhoneNumber(value, hasContext));
  },
);

// ---------------------------------------------------------------------------------------------------
// PAYMENT_CARD
// ---------------------------------------------------------------------------------------------------

/** How issuers print numbers: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or no separators at all. */
function isCardLayout(sizes: number[]): boolean {
  if (sizes.length === 1) return true;
  if (sameSizes(sizes, [4, 6, 5]) || sameSizes(sizes, [4, 6, 4])) return true;
  const last = sizes[sizes.length - 1] ?? 0;
  return sizes.slice(0, -1).every((size) => size === 4) && last >= 1 && last <= 4;
}

function isCardNumber(candidate: string): boolean {
  const separators = new Set(candidate.replace(/\d/g, ''));
  if (separators.size > 1) return false;
  const groups = candidate.match(/\d+/g) ?? [];
  return isCardLayout(groups.map((group) => group.length)) && isPaymentCardNumber(groups.join(''));
}

const PAYMENT_CARD = candidateRecognizer(
  'PAYMENT_CARD',
  /(?<![\p{L}\p{N}.,-])\d(?:[ -]?\d){12,22}(?![\p{L}\p{N}]|[.,-]\d)/gu,
  (candidate) => bestGroupWindow(candidate, 13, isCardNumber),
);

// ---------------------------------------------------------------------------------------------------
// IBAN
// ---------------------------------------------------------------------------------------------------

const IBAN = candidateRecognizer(
  'IBAN',
  /(?<![\p{L}\p{N}])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,34}(?![\p{L}\p{N}])/gu,
  (candidate) => {
    const length = IBAN_LENGTHS[candidate.slice(0, 2).toUpperCase()];
    if (length === undefined) return [];
    // The candidate may have run on into the next words: cut it at the country's IBAN length.
    let seen = 0;
    let cut = 0;
    while (cut < candidate.length && seen < length) {
      if (candidate[cut] !== ' ') seen += 1;
      cut += 1;
    }
    if (seen < length || (cut < candidate.length && candidate[cut] !== ' ')) return [];
    const compact = candidate.slice(0, cut).replace(/ /g, '').toUpperCase();
    return isIban(compact) ? [[0, cut]] : [];
  },
);

// ---------------------------------------------------------------------------------------------------
// US_SSN
// ---------------------------------------------------------------------------------------------------

const SSN_CONTEXT = /(?:\bssn|\bss#|social security|social sec\.?|\btin\b|taxpayer id)/;

const US_SSN = candidateRecognizer(
  'US_SSN',
  /(?<![\p{L}\p{N}/.+-])\d{3}([ -]?)\d{2}\1\d{4}(?![\p{L}\p{N}]|[/.-]\d)/gu,
  (candidate, start, text) => {
    const digits = candidate.replace(/\D/g, '');
    if (!isIssuableSsn(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) return [];
    // "123-45-6789" is unmistakable; spaced or bare nine digits need a word saying what they are.
    const dashed = candidate.includes('-');
    return dashed || SSN_CONTEXT.test(textBefore(text, start, 48)) ? accepted(candidate) : [];
  },
);

// ---------------------------------------------------------------------------------------------------
// IPV4 and IPV6
// ---------------------------------------------------------------------------------------------------

/**
 * Dotted numbers that follow these words are versions or section numbers, not addresses — as is the
 * second of "from 1.24.0 to 1.25.3.1".
 */
const NOT_AN_ADDRESS_CONTEXT =
  /(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bfirmware|\bupgraded? to|\bpatch|\bsection|\bclause|\bchapter|\bstep|\bitem|§|\d\.\d{1,4}(?:\.\d{1,4})*\s+(?:to|->|→))\s*[:#=]?\s*$/;

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

const IPV4 = candidateRecognizer(
  'IPV4',
  new RegExp(`(?<![\\p{L}\\p{N}_.])(?:${OCTET}\\.){3}${OCTET}(?![\\p{L}\\p{N}_]|\\.\\d)`, 'gu'),
  (candidate, start, text) =>
    NOT_AN_ADDRESS_CONTEXT.test(textBefore(text, start, 24)) ? [] : accepted(candidate),
);

const IPV4_EXACT = new RegExp(`^(?:${OCTET}\\.){3}${OCTET}$`);

function isIpv6(address: string): boolean {
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (half: string) => (half === '' ? [] : half.split(':'));
  const all = [...groupsOf(halves[0] ?? ''), ...(halves.length === 2 ? groupsOf(halves[1] ?? '') : [])];
  let hexGroups = all;
  let width = 0;
  const last = all[all.length - 1];
  if (last?.includes('.')) {
    if (!IPV4_EXACT.test(last)) return false;
    hexGroups = all.slice(0, -1);
    width = 2;
  }
  if (!hexGroups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  width += hexGroups.length;
  if (halves.length === 2 ? width > 7 : width !== 8) return false;
  // Below this line: things that parse as IPv6 but are written for other reasons.
  if (all.length < 2 || !/\d/.test(address)) return false; // "be::ef", "Foo::Bar"
  if (halves.length === 1 && hexGroups.every((group) => group.length === 2)) return false; // EUI-64 / MAC
  return true;
}

const IPV6 = candidateRecognizer(
  'IPV6',
  /(?<![\p{L}\p{N}_:.])(?:[0-9A-Fa-f]{1,4}|:)[0-9A-Fa-f:.]{1,44}(?![\p{L}\p{N}_:]|\.[\p{L}\p{N}])/gu,
  (candidate) => {
    // A sentence may end right after the address.
    const trimmed = candidate.replace(/\.+$/, '');
    return trimmed.includes(':') && isIpv6(trimmed) ? [[0, trimmed.length]] : [];
  },
);

// ---------------------------------------------------------------------------------------------------
// AWS keys
// ---------------------------------------------------------------------------------------------------

/** https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids */
const AWS_ACCESS_KEY_ID = candidateRecognizer(
  'AWS_ACCESS_KEY_ID',
  /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  accepted,
);

const SECRET_CONTEXT = /(?:aws|secret|access[_ -]?key|credential|sk\b)/;

function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const character of value) counts.set(character, (counts.get(character) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const share = count / value.length;
    entropy -= share * Math.log2(share);
  }
  return entropy;
}

/**
 * Forty base64 characters. Next to a word like "secret" that is enough; elsewhere the string must look
 * random (upper and lower case and digits, high entropy) and not like a path, so hex digests, git
 * hashes and identifiers of the same length stay.
 */
const AWS_SECRET_ACCESS_KEY = candidateRecognizer(
  'AWS_SECRET_ACCESS_KEY',
  /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  (candidate, start, text) => {
    if (/^[0-9a-f]{40}$/i.test(candidate)) return [];
    if (SECRET_CONTEXT.test(textBefore(text, start, 64))) return accepted(candidate);
    const looksRandom =
      /[A-Z]/.test(candidate) &&
      /[a-z]/.test(candidate) &&
      /\d/.test(candidate) &&
      (candidate.match(/\//g) ?? []).length < 3 &&
      shannonEntropy(candidate) >= 4.2;
    return looksRandom ? accepted(candidate) : [];
  },
);

// ---------------------------------------------------------------------------------------------------
// JWT
// ---------------------------------------------------------------------------------------------------

function decodesToJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Header and claims both base64url JSON objects, the header naming its algorithm (RFC 7519 §7.2). */
const JWT = candidateRecognizer(
  'JWT',
  /(?<![A-Za-z0-9_\-.])eyJ[A-Za-z0-9_-]{4,2048}\.eyJ[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,2048}(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9_-])/g,
  (candidate) => {
    const [header, claims] = candidate.split('.');
    const decodedHeader = decodesToJsonObject(header ?? '');
    return typeof decodedHeader?.['alg'] === 'string' && decodesToJsonObject(claims ?? '')
      ? accepted(candidate)
      : [];
  },
);

// ---------------------------------------------------------------------------------------------------
// PRIVATE_KEY
// ---------------------------------------------------------------------------------------------------

const PEM_MARKER = /-----(BEGIN|END) ((?:[A-Z0-9]{1,12} ){0,3})PRIVATE KEY( BLOCK)?-----/g;
/**
 * After a BEGIN with no END: the header lines (and the blank line after them) and the base64 lines that
 * belong to the (truncated) key, up to the first line that is not base64. Every repetition starts with a
 * line break, so the pattern can match a text one way only, and it cannot fail (it may match nothing):
 * a single pass, never a backtrack.
 */
const PEM_BODY =
  /(?:(?:\r?\n[A-Za-z-]{1,32}: [^\r\n]{0,256})+\r?\n)?[A-Za-z0-9+/=]{0,65536}(?:\r?\n[A-Za-z0-9+/=]{1,65536})*/y;

/**
 * PEM and OpenSSH private keys (RSA, EC, DSA, ENCRYPTED, OPENSSH, PGP … PRIVATE KEY). Markers are found
 * in one pass and each BEGIN pairs with the next END of the same label, so many BEGINs without an END
 * cannot make the scan quadratic. A key cut off before its END is redacted up to where its body ends.
 */
const PRIVATE_KEY: Recognizer = {
  type: 'PRIVATE_KEY',
  find(text) {
    const markers = [...text.matchAll(PEM_MARKER)].map((match) => ({
      begin: match[1] === 'BEGIN',
      label: `${match[2] ?? ''}${match[3] ?? ''}`,
      start: match.index,
      end: match.index + match[0].length,
    }));
    const spans: EntitySpan[] = [];
    let coveredUntil = 0;
    for (const [index, marker] of markers.entries()) {
      if (!marker.begin || marker.start < coveredUntil) continue;
      let end: number | undefined;
      for (let next = index + 1; next < markers.length; next += 1) {
        const candidate = markers[next]!;
        if (candidate.begin) break;
        if (candidate.label === marker.label) {
          end = candidate.end;
          break;
        }
      }
      if (end === undefined) {
        PEM_BODY.lastIndex = marker.end;
        end = PEM_BODY.exec(text) ? PEM_BODY.lastIndex : marker.end;
      }
      spans.push({ type: 'PRIVATE_KEY', start: marker.start, end });
      coveredUntil = end;
    }
    return spans;
  },
};

/**
 * Every built-in recognizer, most specific first: where two overlap, the earlier one wins (a JWT holds
 * runs that look like keys; a card number holds runs that look like phone numbers).
 */
export const BUILT_IN_RECOGNIZERS: Readonly<Record<BuiltInEntityType, Recognizer>> = {
  PRIVATE_KEY,
  JWT,
  AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY,
  EMAIL,
  IBAN,
  PAYMENT_CARD,
  US_SSN,
  IPV6,
  IPV4,
  PHONE,
};
