/** Luhn (mod 10) over a string of ASCII digits. https://en.wikipedia.org/wiki/Luhn_algorithm */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Payment card number ranges (IIN prefixes) and the lengths each brand issues. A number outside every
 * range is not a card even when its Luhn digit happens to fit.
 * https://en.wikipedia.org/wiki/Payment_card_number#Issuer_identification_number_(IIN)
 */
const CARD_BRANDS: ReadonlyArray<{ brand: string; from: number; to: number; lengths: readonly number[] }> = [
  { brand: 'visa', from: 4000, to: 4999, lengths: [13, 16, 19] },
  { brand: 'mastercard', from: 5100, to: 5599, lengths: [16] },
  { brand: 'mastercard', from: 2221, to: 2720, lengths: [16] },
  { brand: 'amex', from: 3400, to: 3499, lengths: [15] },
  { brand: 'amex', from: 3700, to: 3799, lengths: [15] },
  { brand: 'discover', from: 6011, to: 6011, lengths: [16, 17, 18, 19] },
  { brand: 'discover', from: 6440, to: 6599, lengths: [16, 17, 18, 19] },
  { brand: 'jcb', from: 3528, to: 3589, lengths: [16, 17, 18, 19] },
  { brand: 'diners', from: 3000, to: 3059, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'diners', from: 3600, to: 3699, lengths: [14, 15, 16, 17, 18, 19] },
  { brand: 'diners', from: 3800, to: 3999, lengths: [16, 17, 18, 19] },
  { brand: 'unionpay', from: 6200, to: 6299, lengths: [16, 17, 18, 19] },
  { brand: 'mir', from: 2200, to: 2204, lengths: [16, 17, 18, 19] },
  { brand: 'maestro', from: 5000, to: 5099, lengths: [13, 14, 15, 16, 17, 18, 19] },
  { brand: 'maestro', from: 5600, to: 5899, lengths: [13, 14, 15, 16, 17, 18, 19] },
  { brand: 'maestro', from: 6700, to: 6799, lengths: [13, 14, 15, 16, 17, 18, 19] },
];

export function cardBrandOf(digits: string): string | undefined {
  const prefix = Number(digits.slice(0, 4));
  return CARD_BRANDS.find(
    (entry) => prefix >= entry.from && prefix <= entry.to && entry.lengths.includes(digits.length),
  )?.brand;
}

export function isPaymentCardNumber(digits: string): boolean {
  return cardBrandOf(digits) !== undefined && passesLuhn(digits);
}

/**
 * IBAN length per country (ISO 13616 registry, release 2024), used both to validate and to cut a
 * candidate that ran into the next word. https://www.swift.com/standards/data-standards/iban-international-bank-account-number
 */
// prettier-ignore
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 mod 97-10 over an upper-case, space-free IBAN: moved country code and check digits, = 1. */
export function passesIbanChecksum(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const character of rearranged) {
    const code = character.charCodeAt(0);
    // Letters count as two digits (A = 10 … Z = 35); fold digit by digit to stay within safe integers.
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

export function isIban(compact: string): boolean {
  const length = IBAN_LENGTHS[compact.slice(0, 2)];
  return length === compact.length && passesIbanChecksum(compact);
}

/**
 * Numbers the Social Security Administration never issues: area 000, 666 or 900–999, group 00, serial
 * 0000 — and two that were printed in advertisements and then retired.
 * https://www.ssa.gov/employer/randomization.html https://www.ssa.gov/history/ssn/misused.html
 */
const RETIRED_SSNS: ReadonlySet<string> = new Set(['078051120', '219099999']);

export function isIssuableSsn(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  if (areaNumber === 0 || areaNumber === 666 || areaNumber >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  return !RETIRED_SSNS.has(area + group + serial);
}
