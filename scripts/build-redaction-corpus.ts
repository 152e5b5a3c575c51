// Long by design: the corpus templates are data.
/**
 * Builds test/fixtures/redaction-corpus.jsonl, the labelled corpus the redaction test measures recall
 * and precision on: realistic snippets (tickets, chats, logs, configs, CSV, JSON) with embedded
 * entities, and near-miss decoys that must NOT be reported. Deterministic (seeded), and independent of
 * the recognizers: check digits are computed here, from the published algorithms, not by the code
 * under test. Run: npx tsx scripts/build-redaction-corpus.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Slot =
  | 'EMAIL'
  | 'PHONE'
  | 'PHONE_BARE'
  | 'PAYMENT_CARD'
  | 'IBAN'
  | 'US_SSN'
  | 'IPV4'
  | 'IPV6'
  | 'AWS_ACCESS_KEY_ID'
  | 'AWS_SECRET_ACCESS_KEY'
  | 'JWT'
  | 'PRIVATE_KEY';

/** Slots that are filled with a value but labelled as nothing: the decoys. */
type DecoySlot =
  | 'BAD_CARD'
  | 'BAD_IBAN'
  | 'BAD_SSN'
  | 'VERSION'
  | 'ORDER'
  | 'DATE'
  | 'HASH'
  | 'UUID'
  | 'MAC'
  | 'TIME'
  | 'BAD_KEY_ID'
  | 'NOT_JWT'
  | 'PUBLIC_PEM'
  | 'NOT_EMAIL'
  | 'NOT_IP'
  | 'NUMBER';

interface CorpusEntry {
  id: string;
  text: string;
  entities: Array<{ type: string; value: string }>;
}

let seed = 20_240_611;
function random(): number {
  // mulberry32: small, seeded, good enough to vary test data.
  seed = (seed + 0x6d2b79f5) | 0;
  let value = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
  return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const month = () => String(1 + Math.floor(random() * 12)).padStart(2, '0');
const day = () => String(1 + Math.floor(random() * 28)).padStart(2, '0');
const digits = (count: number, first = '0123456789') =>
  pick(first.split('')) + Array.from({ length: count - 1 }, () => pick('0123456789'.split(''))).join('');
const chars = (count: number, alphabet: string) =>
  Array.from({ length: count }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE64 = `${UPPER}abcdefghijklmnopqrstuvwxyz0123456789+/`;
const HEX = '0123456789abcdef';

// ---- entity values -----------------------------------------------------------------------------

const FIRST = ['jane', 'omar', 'li', 'sofia', 'mateo', 'aiko', 'priya', 'lukas', 'chloé', 'noah', 'fatima',
  'ivan', 'grace', 'tomás', 'elena', 'kwame', 'yuki', 'amir', 'zoe', 'björn']; // prettier-ignore
const LAST = ['doe', 'haddad', 'wei', 'rossi', 'garcia', 'tanaka', 'sharma', 'becker', 'martin', 'okafor',
  'ivanova', 'kim', 'silva', 'novak', 'andersen', 'nguyen', 'müller', 'obrien']; // prettier-ignore
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'acme-corp.io', 'contoso.co.uk',
  'fabrikam.de', 'uni-example.edu', 'example.com.au', 'shop.example.fr', 'northwind.biz']; // prettier-ignore

function email(): string {
  const first = pick(FIRST);
  const last = pick(LAST);
  const domain = pick(DOMAINS);
  return pick([
    () => `${first}.${last}@${domain}`,
    () => `${first[0]}${last}@${domain}`,
    () => `${first}_${last}${digits(2)}@${domain}`,
    () => `${first}.${last}+billing@${domain}`,
    () =>
      `${first.charAt(0).toUpperCase()}${first.slice(1)}.${last.charAt(0).toUpperCase()}${last.slice(1)}@${domain}`,
    () => `${first}@${domain}`,
  ])();
}

function nanpParts() {
  return { area: digits(3, '23456789'), exchange: digits(3, '23456789'), line: digits(4) };
}

function phone(): string {
  const { area, exchange, line } = nanpParts();
  return pick([
    () => `(${area}) ${exchange}-${line}`,
    () => `${area}-${exchange}-${line}`,
    () => `${area}.${exchange}.${line}`,
    () => `+1 ${area} ${exchange} ${line}`,
    () => `+1-${area}-${exchange}-${line}`,
    () => `+1 (${area}) ${exchange}-${line}`,
    () => `1-800-${exchange}-${line}`,
    () => `+1${area}${exchange}${line}`,
    () => `+44 20 ${digits(4, '3789')} ${digits(4)}`,
    () => `020 ${digits(4, '3789')} ${digits(4)}`,
    () => `07700 ${digits(6)}`,
    () => `+44 7700 ${digits(6)}`,
    () => `+44 (0)20 ${digits(4, '3789')} ${digits(4)}`,
    () => `+49 30 ${digits(7)}`,
    () => `+49 (0)89 ${digits(7)}`,
    () => `030 ${digits(7)}`,
    () => `+49 151 ${digits(8)}`,
    () => `+33 1 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
    () => `06 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
    () => `+61 2 ${digits(4)} ${digits(4)}`,
    () => `+81 3-${digits(4)}-${digits(4)}`,
    () => `+91 ${digits(5, '6789')} ${digits(5)}`,
    () => `+55 11 9${digits(4)}-${digits(4)}`,
    () => `+34 ${digits(3, '69')} ${digits(3)} ${digits(3)}`,
    () => `+353 1 ${digits(3)} ${digits(4)}`,
    () => `+31 20 ${digits(3)} ${digits(4)}`,
  ])();
}

/** A bare run of digits: a phone number only because the words before it say so. */
function barePhone(): string {
  const { area, exchange, line } = nanpParts();
  return pick([() => `${area}${exchange}${line}`, () => `0${digits(1, '12')}0${digits(8)}`])();
}

function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let index = 0; index < body.length; index += 1) {
    let digit = Number(body[body.length - 1 - index]);
    if (index % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

const CARD_PREFIXES: ReadonlyArray<{ prefix: () => string; length: number }> = [
  { prefix: () => '4', length: 16 },
  { prefix: () => '4', length: 16 },
  { prefix: () => pick(['51', '52', '53', '54', '55']), length: 16 },
  { prefix: () => String(2221 + Math.floor(random() * 500)), length: 16 },
  { prefix: () => pick(['34', '37']), length: 15 },
  { prefix: () => pick(['6011', '65']), length: 16 },
  { prefix: () => String(3528 + Math.floor(random() * 61)), length: 16 },
  { prefix: () => '36', length: 14 },
  { prefix: () => '62', length: 16 },
];

function formatCard(number: string): string {
  if (number.length === 15) return `${number.slice(0, 4)} ${number.slice(4, 10)} ${number.slice(10)}`;
  if (number.length === 14) return `${number.slice(0, 4)} ${number.slice(4, 10)} ${number.slice(10)}`;
  return pick([
    () => number.match(/.{1,4}/g)!.join(' '),
    () => number.match(/.{1,4}/g)!.join('-'),
    () => number,
  ])();
}

function cardNumber(valid: boolean): string {
  const { prefix, length } = pick(CARD_PREFIXES);
  const start = prefix();
  const body = start + digits(length - 1 - start.length);
  const check = luhnCheckDigit(body);
  return body + (valid ? check : String((Number(check) + 1 + Math.floor(random() * 8)) % 10));
}

const IBAN_FORMATS: Record<string, () => string> = {
  DE: () => digits(18),
  GB: () => chars(4, UPPER) + digits(14),
  FR: () => digits(10) + chars(11, `${UPPER}0123456789`) + digits(2),
  ES: () => digits(20),
  IT: () => chars(1, UPPER) + digits(10) + chars(12, `${UPPER}0123456789`),
  NL: () => chars(4, UPPER) + digits(10),
  BE: () => digits(12),
  CH: () => digits(5) + chars(12, '0123456789'),
  AT: () => digits(16),
  PL: () => digits(24),
  SE: () => digits(20),
  IE: () => chars(4, UPPER) + digits(14),
  PT: () => digits(21),
  NO: () => digits(11),
  FI: () => digits(14),
};

function mod97(numeric: string): number {
  let remainder = 0;
  for (const character of numeric) remainder = (remainder * 10 + Number(character)) % 97;
  return remainder;
}

function ibanCheckDigits(country: string, bban: string): string {
  const numeric = (bban + country + '00').replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  return String(98 - mod97(numeric)).padStart(2, '0');
}

function iban(valid: boolean): string {
  const country = pick(Object.keys(IBAN_FORMATS));
  let bban = IBAN_FORMATS[country]!();
  const compact = country + ibanCheckDigits(country, bban) + bban;
  if (!valid) {
    // Change one digit of the account part: mod 97 always notices a single changed digit.
    const index = bban.search(/\d/);
    bban = bban.slice(0, index) + String((Number(bban[index]) + 1) % 10) + bban.slice(index + 1);
    const broken = compact.slice(0, 4) + bban;
    return pick([() => broken, () => broken.match(/.{1,4}/g)!.join(' ')])();
  }
  return pick([() => compact, () => compact.match(/.{1,4}/g)!.join(' ')])();
}

function ssn(): string {
  let area = digits(3);
  while (area === '000' || area === '666' || Number(area) >= 900) area = digits(3);
  return `${area}-${digits(2, '123456789')}-${digits(4, '123456789')}`;
}

function badSsn(): string {
  return pick([
    () => `000-${digits(2, '123456789')}-${digits(4, '123456789')}`,
    () => `666-${digits(2, '123456789')}-${digits(4, '123456789')}`,
    () => `9${digits(2)}-${digits(2, '123456789')}-${digits(4, '123456789')}`,
    () => `${digits(3, '12345678')}-00-${digits(4, '123456789')}`,
    () => `${digits(3, '12345678')}-${digits(2, '123456789')}-0000`,
  ])();
}

const octet = () => String(Math.floor(random() * 256));
function ipv4(): string {
  return pick([
    () => `${pick(['10', '172', '192'])}.${octet()}.${octet()}.${octet()}`,
    () => `${1 + Math.floor(random() * 223)}.${octet()}.${octet()}.${octet()}`,
    () => `203.0.113.${octet()}`,
    () => `198.51.100.${octet()}`,
  ])();
}

const hexGroup = () => chars(1, '123456789abcdef') + chars(Math.floor(random() * 4), HEX);
function ipv6(): string {
  return pick([
    () => `2001:db8::${hexGroup()}`,
    () => `2001:db8:${hexGroup()}:${hexGroup()}::${hexGroup()}`,
    () => `fe80::${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}`,
    () => Array.from({ length: 8 }, () => chars(4, HEX)).join(':'),
    () => `2a00:1450:4001:${hexGroup()}::200e`,
    () => `::ffff:192.0.2.${octet()}`,
    () => `2001:0db8:85a3:0000:0000:8a2e:0370:${chars(4, HEX)}`,
  ])();
}

const awsKeyId = () => pick(['AKIA', 'AKIA', 'ASIA']) + chars(16, `${UPPER}234567`);
function awsSecret(): string {
  // Real secret keys always mix cases and digits; make sure the generated one does too.
  let value = chars(40, BASE64);
  while (!/[A-Z]/.test(value) || !/[a-z]/.test(value) || !/\d/.test(value)) value = chars(40, BASE64);
  return value;
}

const base64url = (value: string) => Buffer.from(value).toString('base64url');
function jwt(): string {
  const header = pick([
    { alg: 'HS256', typ: 'JWT' },
    { alg: 'RS256', typ: 'JWT', kid: chars(8, HEX) },
    { alg: 'ES256', kid: chars(12, HEX) },
  ]);
  const claims = {
    sub: pick(['user-', 'svc-', '']) + digits(6),
    iat: 1_700_000_000 + Math.floor(random() * 10_000_000),
    ...(random() < 0.5 ? { exp: 1_710_000_000 + Math.floor(random() * 1_000_000) } : {}),
    ...(random() < 0.5 ? { scope: pick(['read', 'read write', 'admin']) } : {}),
  };
  const signature = chars(header.alg === 'RS256' ? 342 : 43, `${BASE64.slice(0, 62)}-_`);
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}.${signature}`;
}

function pem(): string {
  const label = pick([
    'RSA PRIVATE KEY',
    'PRIVATE KEY',
    'EC PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
  ]);
  const lines = Array.from({ length: 3 + Math.floor(random() * 5) }, () => chars(64, BASE64));
  lines.push(chars(20, BASE64) + '==');
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

// ---- decoy values ------------------------------------------------------------------------------

const DECOYS: Record<DecoySlot, () => string> = {
  BAD_CARD: () => formatCard(cardNumber(false)),
  BAD_IBAN: () => iban(false),
  BAD_SSN: badSsn,
  VERSION: () =>
    pick([
      () => `v${digits(1, '123456789')}.${digits(1)}.${digits(1)}`,
      () => `version ${digits(1, '123456789')}.${digits(1)}.${digits(1)}.${digits(1)}`,
      () => `release ${digits(1, '123456789')}.${digits(2)}.${digits(1)}.${digits(1)}`,
      () => `build ${digits(1, '123456789')}.0.0.${digits(2)}`,
      () => `Chrome/${digits(3, '1')}.0.${digits(4, '56')}.${digits(3)}`,
      () => `${digits(1, '123456789')}.${digits(1)}.${digits(1)}-rc.${digits(1)}`,
    ])(),
  ORDER: () =>
    pick([
      () => `#${digits(6)}-${digits(4)}`,
      () => `INV-${digits(4, '2')}-${digits(5)}`,
      () => `PO ${digits(10, '4')}`,
      () => `1Z${chars(6, `${UPPER}0123456789`)}${digits(10)}`,
      () => `RMA-${digits(8)}`,
      () => `${digits(3)}-${digits(7)}-${digits(7)}`,
    ])(),
  DATE: () =>
    pick([
      () => `2024-${month()}-${day()}`,
      () => `${day()}/${month()}/2023`,
      () => `2024-${month()}-${day()}T${digits(2, '01')}:${digits(2, '012345')}:00Z`,
      () => `${day()}.${month()}.2024`,
      () => `March ${Number(day())}, 2024`,
    ])(),
  HASH: () =>
    pick([
      () => chars(40, HEX),
      () => chars(64, HEX),
      () => chars(32, HEX),
      () => chars(40, HEX).toUpperCase(),
      () => `sha256-${Buffer.from(chars(32, HEX), 'hex').toString('base64')}`,
      () => chars(43, BASE64) + '=',
    ])(),
  UUID: () => `${chars(8, HEX)}-${chars(4, HEX)}-4${chars(3, HEX)}-a${chars(3, HEX)}-${chars(12, HEX)}`,
  MAC: () => Array.from({ length: 6 }, () => chars(2, '0123456789ABCDEF')).join(':'),
  TIME: () => `${digits(2, '01')}:${digits(2, '012345')}:${digits(2, '012345')}`,
  BAD_KEY_ID: () =>
    pick([
      () => `AKIA${chars(15, `${UPPER}234567`)}`,
      () => `akia${chars(16, 'abcdefghijklmnopqrstuvwxyz234567')}`,
      () => `AKIA_TEST_${chars(6, UPPER)}`,
      () => `AKID${chars(16, `${UPPER}234567`)}`,
    ])(),
  NOT_JWT: () =>
    pick([
      () => `eyJhbGciOiJIUzI1NiJ9.${chars(20, BASE64.slice(0, 62))}`,
      () =>
        `eyJ${chars(20, BASE64.slice(0, 62))}.eyJ${chars(30, BASE64.slice(0, 62))}.${chars(43, BASE64.slice(0, 62))}`,
    ])(),
  PUBLIC_PEM: () =>
    `-----BEGIN ${pick(['PUBLIC KEY', 'CERTIFICATE'])}-----\n${chars(64, BASE64)}\n${chars(24, BASE64)}==\n-----END ${pick(['PUBLIC KEY', 'CERTIFICATE'])}-----`,
  NOT_EMAIL: () =>
    pick([
      () => `@${pick(FIRST)}_${pick(LAST)}`,
      () => `icon@${digits(1, '23')}x.png`,
      () => `lodash@${digits(1, '34')}.${digits(2)}.${digits(1)}`,
      () => `@types/node@20.${digits(2)}.${digits(1)}`,
      () => `${pick(FIRST)}@localhost`,
    ])(),
  NOT_IP: () =>
    pick([
      () => `${digits(1, '12')}.${digits(1)}.${digits(1)}`,
      () => `256.${octet()}.${octet()}.${octet()}`,
      () => `1.3.6.1.4.1.${digits(4)}`,
      () => `${octet()}.${octet()}.${octet()}`,
      () => `section 2.${digits(1, '123')}.${digits(1, '123')}.${digits(1, '123')}`,
    ])(),
  NUMBER: () =>
    pick([
      () => `${digits(1, '123456789')},${digits(3)},${digits(3)}.${digits(2)}`,
      () => `978-${digits(1)}-${digits(2)}-${digits(6)}-${digits(1)}`,
      () => `${digits(5, '123456789')}-${digits(4)}`,
      () => `${digits(3, '123456789')}-${digits(3, '123456789')}`,
      () => digits(8, '123456789'),
      () => `${digits(12, '123456789')}`,
    ])(),
};

const ENTITY_VALUES: Record<Slot, () => string> = {
  EMAIL: email,
  PHONE: phone,
  PHONE_BARE: barePhone,
  PAYMENT_CARD: () => formatCard(cardNumber(true)),
  IBAN: () => iban(true),
  US_SSN: ssn,
  IPV4: ipv4,
  IPV6: ipv6,
  AWS_ACCESS_KEY_ID: awsKeyId,
  AWS_SECRET_ACCESS_KEY: awsSecret,
  JWT: jwt,
  PRIVATE_KEY: pem,
};

// ---- templates ---------------------------------------------------------------------------------

/** `{TYPE}` slots are labelled entities; `{~DECOY}` slots are decoys; `times` says how many variants. */
const TEMPLATES: ReadonlyArray<[template: string, times: number]> = [
  // Support tickets and email
  ['Hi team, please update the billing contact to {EMAIL} and copy {EMAIL} on the invoice {~ORDER}.', 4],
  ['Customer says she never got the reset link at {EMAIL}; order {~ORDER} was placed {~DATE}.', 4],
  ['From: {EMAIL}\nTo: {EMAIL}\nSubject: refund for {~ORDER}', 3],
  ['Can you call me back on {PHONE}? I am free after {~TIME} today.', 5],
  ['Best number to reach me: {PHONE} (mobile) or {PHONE} (office).', 4],
  ['Please ring {PHONE} before delivery; the gate code is 4471.', 4],
  ['Customer called from {PHONE} about ticket {~ORDER}, logged at {~TIME}.', 4],
  ['call me at {PHONE_BARE} if the parcel is late', 3],
  ['Tel: {PHONE_BARE}', 2],
  ['My card {PAYMENT_CARD} was charged twice for order {~ORDER}.', 7],
  ['Card on file ends in 4242; full number {PAYMENT_CARD}, expiry 09/27.', 5],
  ['Test charge with {PAYMENT_CARD} declined, but {~BAD_CARD} was typed first by mistake.', 6],
  ['Please refund to IBAN {IBAN} (account holder as on the invoice).', 7],
  ['Wire the deposit to {IBAN}, reference {~ORDER}.', 6],
  ['Old account {~BAD_IBAN} was closed; new one is {IBAN}.', 6],
  ['For the W-9 my SSN is {US_SSN}, please keep it private.', 6],
  ['Employee record: SSN {US_SSN}, start date {~DATE}.', 5],
  ['The form rejected {~BAD_SSN} as invalid, the right one is {US_SSN}.', 5],
  // Logs and operations
  ['{~DATE} WARN login failed for {EMAIL} from {IPV4}', 4],
  ['GET /api/orders 200 12ms client={IPV4} ua=Mozilla/5.0 {~VERSION}', 4],
  ['X-Forwarded-For: {IPV4}, {IPV4}', 3],
  ['upstream {IPV6} timed out after 30s (attempt 3)', 6],
  ['sshd[2211]: Accepted publickey for deploy from {IPV6} port 52144', 5],
  ['Blocked {IPV4} and {IPV6} after 20 failed logins in 60s', 5],
  ['node {~VERSION} on host with MAC {~MAC}, started {~TIME}', 3],
  ['Deployed {~VERSION} to 10 pods; commit {~HASH}', 4],
  ['request id {~UUID} took 311ms, cache key {~HASH}', 4],
  ['SNMP trap {~NOT_IP} from {IPV4}', 2],
  // Secrets in configs and pasted snippets
  ['export AWS_ACCESS_KEY_ID={AWS_ACCESS_KEY_ID}\nexport AWS_SECRET_ACCESS_KEY={AWS_SECRET_ACCESS_KEY}', 7],
  ['[default]\naws_access_key_id = {AWS_ACCESS_KEY_ID}\naws_secret_access_key = {AWS_SECRET_ACCESS_KEY}', 6],
  ['The build failed because the key {AWS_ACCESS_KEY_ID} was revoked.', 6],
  ['secret: {AWS_SECRET_ACCESS_KEY}', 6],
  ['I pasted {AWS_SECRET_ACCESS_KEY} into the wrong channel, can we rotate it?', 5],
  ['Placeholder ids like {~BAD_KEY_ID} are fine in docs; checksum {~HASH}.', 3],
  ['Authorization: Bearer {JWT}', 7],
  ['the token {JWT} expired at midnight', 6],
  ['curl -H "Authorization: Bearer {JWT}" https://api.example.com/v1/me', 5],
  ['This is not a token: {~NOT_JWT}', 3],
  ['Here is the key you asked for:\n{PRIVATE_KEY}\nPlease do not share it.', 7],
  ['id_rsa contents: {PRIVATE_KEY}', 5],
  ['Server cert and key:\n{~PUBLIC_PEM}\n{PRIVATE_KEY}', 5],
  ['Public key for the partner:\n{~PUBLIC_PEM}', 3],
  // Structured data
  ['{"email":"{EMAIL}","phone":"{PHONE}","ip":"{IPV4}"}', 4],
  ['id,name,email,phone\n17,Jane Doe,{EMAIL},{PHONE}', 3],
  ['customer: {email: {EMAIL}, iban: {IBAN}, card: {PAYMENT_CARD}}', 5],
  ['<contact><mail>{EMAIL}</mail><tel>{PHONE}</tel></contact>', 2],
  ['user={EMAIL} ip={IPV4} ssn={US_SSN}', 5],
  // Chat and prose
  ['hey! new number is {PHONE}, old one {~NUMBER} is gone', 4],
  ['Send the contract to {EMAIL}. If bounced, try {EMAIL}.', 3],
  ['Mail me at <{EMAIL}> or find me as {~NOT_EMAIL} on the forum.', 4],
  ['Images: {~NOT_EMAIL} and logo.svg; deps: {~NOT_EMAIL}', 3],
  ['Our office IP is {IPV4} — upgrade to {~VERSION} first.', 3],
  ['See {~NOT_IP} of the spec; the server is at {IPV4}.', 3],
  ['Totals: {~NUMBER} units, ISBN {~NUMBER}, zip {~NUMBER}.', 4],
  ['Invoice {~ORDER} dated {~DATE} for {~NUMBER} EUR.', 4],
  ['Meeting {~DATE} at {~TIME}, room 4.12, dial-in code {~NUMBER}.', 3],
  ['The tracking number {~ORDER} belongs to order {~ORDER}.', 3],
  ['Session {~UUID} for {EMAIL} started at {~TIME} from {IPV6}.', 5],
  ['Ticket closed. Card {~BAD_CARD} failed the check, IBAN {~BAD_IBAN} too.', 4],
  ['Nothing sensitive here: build {~VERSION}, commit {~HASH}, at {~DATE}.', 4],
  ['Pay with {PAYMENT_CARD} or transfer to {IBAN}; questions to {PHONE}.', 5],
  ['AWS says key {AWS_ACCESS_KEY_ID} leaked, token {JWT} too.', 5],
  ['Applicant SSN: {US_SSN}; spouse SSN: {US_SSN}', 6],
  ['ssn {US_SSN} dob {~DATE}', 6],
  ['Verify identity: last four of SSN {US_SSN} do not match file {~ORDER}.', 6],
  ['Sepa mandate: debtor {IBAN}, creditor {IBAN}, amount {~NUMBER}', 6],
  ['IBAN: {IBAN}\nBIC: DEUTDEFFXXX', 6],
  ['Please charge {PAYMENT_CARD} for the renewal and email the receipt to {EMAIL}.', 6],
  ['card number: {PAYMENT_CARD} cvv 123', 6],
  ['{"token":"{JWT}","expires_in":3600}', 6],
  ['Cookie: session={JWT}; theme=dark', 6],
  ['Found this in the repo history: {PRIVATE_KEY}', 6],
  ['ansible vault leaked {PRIVATE_KEY}\nand the passphrase is in the wiki', 5],
  ['resolver {IPV6} answered in 4ms; fallback {IPV4}', 6],
  ['ip -6 addr add {IPV6}/64 dev eth0', 6],
  ['allowlist: {IPV4}/32, {IPV4}/32 (office), {~NOT_IP} is a typo', 4],
  ['key id {AWS_ACCESS_KEY_ID} / secret {AWS_SECRET_ACCESS_KEY} (rotate by Friday)', 6],
  ['AWS_SECRET_ACCESS_KEY: "{AWS_SECRET_ACCESS_KEY}"', 5],
  ['Phone numbers on file: {PHONE}; {PHONE}', 3],
  ['WhatsApp {PHONE} or Signal, whichever you prefer.', 3],
  ['Escalate to {EMAIL} with logs from {IPV4} and the trace id {~UUID}.', 3],
];

/**
 * Harder cases written by hand (scripts/redaction-corpus-handwritten.json): formats and neighbours the templates above do not produce. Labels are
 * exact values; card and IBAN labels are re-checked below with this script's own checksum code.
 */
const HANDWRITTEN = JSON.parse(
  readFileSync(join(__dirname, 'redaction-corpus-handwritten.json'), 'utf8'),
) as ReadonlyArray<{ text: string; entities: Array<[type: Slot, value: string]> }>;

function fill(template: string): { text: string; entities: CorpusEntry['entities'] } {
  const entities: CorpusEntry['entities'] = [];
  const text = template.replace(/\{(~?)([A-Z0-9_]+)\}/g, (slot, decoy: string, name: string) => {
    if (decoy) {
      const make = DECOYS[name as DecoySlot];
      if (!make) throw new Error(`unknown decoy slot ${slot}`);
      return make();
    }
    const make = ENTITY_VALUES[name as Slot];
    if (!make) return slot; // literal braces in JSON-ish templates
    const value = make();
    entities.push({ type: name === 'PHONE_BARE' ? 'PHONE' : name, value });
    return value;
  });
  return { text, entities };
}

const entries: CorpusEntry[] = [];
for (const [template, times] of TEMPLATES) {
  for (let variant = 0; variant < times; variant += 1) {
    entries.push({ id: `c${String(entries.length + 1).padStart(3, '0')}`, ...fill(template) });
  }
}

for (const { text, entities } of HANDWRITTEN) {
  for (const [type, value] of entities) {
    if (!text.includes(value)) throw new Error(`handwritten label ${value} is not in: ${text}`);
    const compact = value.replace(/[ -]/g, '');
    if (type === 'PAYMENT_CARD' && luhnCheckDigit(compact.slice(0, -1)) !== compact.slice(-1)) {
      throw new Error(`handwritten card ${value} fails Luhn`);
    }
    if (type === 'IBAN' && ibanCheckDigits(compact.slice(0, 2), compact.slice(4)) !== compact.slice(2, 4)) {
      throw new Error(`handwritten IBAN ${value} fails mod 97`);
    }
  }
  entries.push({
    id: `h${String(entries.length + 1).padStart(3, '0')}`,
    text,
    entities: entities.map(([type, value]) => ({ type, value })),
  });
}

const target = join(__dirname, '..', 'test', 'fixtures', 'redaction-corpus.jsonl');
writeFileSync(target, entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
const counts = new Map<string, number>();
for (const entry of entries)
  for (const { type } of entry.entities) counts.set(type, (counts.get(type) ?? 0) + 1);
process.stdout.write(
  `${entries.length} strings -> ${target}\n${JSON.stringify(Object.fromEntries(counts))}\n`,
);
