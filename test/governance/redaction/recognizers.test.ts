import { findEntities, type BuiltInEntityType } from '../../../governance/redaction';
import {
  cardBrandOf,
  isIban,
  isIssuableSsn,
  passesIbanChecksum,
  passesLuhn,
} from '../../../governance/redaction/checksums';

function found(text: string, type?: BuiltInEntityType): string[] {
  return findEntities(text, type ? { types: [type] } : {}).map((span) => text.slice(span.start, span.end));
}

function typed(text: string): Array<[string, string]> {
  return findEntities(text).map((span) => [span.type, text.slice(span.start, span.end)]);
}

describe('checksums', () => {
  it.each([
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['378282246310005', true],
    ['0', true],
    ['', false],
    ['12a4', false],
  ])('Luhn %s → %s', (digits, expected) => {
    expect(passesLuhn(digits)).toBe(expected);
  });

  it.each([
    ['4111111111111111', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
    ['3530111333300000', 'jcb'],
    ['30569309025904', 'diners'],
    ['1234567812345670', undefined],
    ['41111111111111', undefined], // Visa issues 13, 16 or 19 digits, never 14
  ])('card brand of %s is %s', (digits, brand) => {
    expect(cardBrandOf(digits)).toBe(brand);
  });

  it.each([
    ['DE89370400440532013000', true],
    ['GB82WEST12345698765432', true],
    ['NL91ABNA0417164300', true],
    ['FR1420041010050500013M02606', true],
    ['DE89370400440532013001', false], // checksum
    ['DE8937040044053201300', false], // one character short for Germany
    ['XX89370400440532013000', false], // no such country
  ])('IBAN %s → %s', (iban, expected) => {
    expect(isIban(iban)).toBe(expected);
  });

  it('mod 97 rejects malformed input instead of computing nonsense', () => {
    expect(passesIbanChecksum('de89370400440532013000')).toBe(false);
    expect(passesIbanChecksum('DE89 3704')).toBe(false);
  });

  it.each([
    ['536', '22', '8890', true],
    ['000', '12', '3456', false],
    ['666', '12', '3456', false],
    ['900', '12', '3456', false],
    ['999', '12', '3456', false],
    ['123', '00', '4567', false],
    ['123', '45', '0000', false],
    ['078', '05', '1120', false],
    ['219', '09', '9999', false],
    ['899', '99', '9999', true],
  ])('SSN %s-%s-%s issuable → %s', (area, group, serial, expected) => {
    expect(isIssuableSsn(area, group, serial)).toBe(expected);
  });
});

describe('built-in recognizers', () => {
  it.each<[BuiltInEntityType, string, string[]]>([
    ['EMAIL', 'Write to jane.doe@example.com.', ['jane.doe@example.com']],
    [
      'EMAIL',
      'josé.garcía@ejemplo.es and müller@beispiel.de',
      ['josé.garcía@ejemplo.es', 'müller@beispiel.de'],
    ],
    ['EMAIL', 'icon@2x.png lodash@4.17.21 @handle user@localhost a..b@example.com', []],
    ['PHONE', 'Call (415) 555-0100 or +44 20 7946 0958.', ['(415) 555-0100', '+44 20 7946 0958']],
    ['PHONE', 'phone: 4155550100 but order 4155550100', ['4155550100']],
    ['PHONE', 'Phone:+33 1 23 45 67 89', ['+33 1 23 45 67 89']],
    ['PHONE', 'zip 94105-1234, ISBN 978-3-16-148410-0, 2024-03-15 10:30, 1 - 800', []],
    ['PHONE', 'room 12 415-555-0100 2 lines', ['415-555-0100']],
    ['PHONE', 'account 3704 0044 0532 0130 01', []],
    [
      'PAYMENT_CARD',
      'cards 4111 1111 1111 1111 and 4111-1111-1111-1111',
      ['4111 1111 1111 1111', '4111-1111-1111-1111'],
    ],
    ['PAYMENT_CARD', 'bad 4111 1111 1111 1112, mixed 4111 1111-1111 1111, odd 41 1111 1111 1111 11', []],
    ['PAYMENT_CARD', 'two numbers 4111 1111 1111 1111 22', []],
    ['IBAN', 'IBAN DE89 3704 0044 0532 0130 00 is mine', ['DE89 3704 0044 0532 0130 00']],
    ['IBAN', 'IBAN DE89 3704 0044 0532 0130 0012 is too long', []],
    ['US_SSN', 'SSN 536-22-8890, ssn: 536 22 8890', ['536-22-8890', '536 22 8890']],
    ['US_SSN', 'order 536228890 and reference 536 22 8890', []],
    ['US_SSN', 'dates 2023-04-15 and 900-12-3456 and 536-22-88901', []],
    [
      'IPV4',
      'from 192.168.1.10, 10.0.0.1:8080 and 255.255.255.255',
      ['192.168.1.10', '10.0.0.1', '255.255.255.255'],
    ],
    ['IPV4', 'version 1.2.3.4, v1.2.3.4, 256.1.1.1, 1.3.6.1.4.1, 01.02.03.04', []],
    [
      'IPV6',
      '2001:db8::1, ::ffff:192.0.2.1 and 2001:0db8:0000:0000:0000:ff00:0042:8329.',
      ['2001:db8::1', '::ffff:192.0.2.1', '2001:0db8:0000:0000:0000:ff00:0042:8329'],
    ],
    ['IPV6', '10:30:00, 00:1A:2B:3C:4D:5E, std::vector, be::ef, 1:2:3:4:5:6:7:8:9', []],
    [
      'AWS_ACCESS_KEY_ID',
      'AKIAIOSFODNN7EXAMPLE ASIAY34FZKBOKMUTVV7A',
      ['AKIAIOSFODNN7EXAMPLE', 'ASIAY34FZKBOKMUTVV7A'],
    ],
    ['AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPL AKIAIOSFODNN7EXAMPLEX akiaiosfodnn7example', []],
    [
      'AWS_SECRET_ACCESS_KEY',
      'secret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ],
    [
      'AWS_SECRET_ACCESS_KEY',
      'sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12 and ThisIsJustALongIdentifierWithNoDigitsAtAll',
      [],
    ],
  ])('%s in %j', (type, text, expected) => {
    expect(found(text, type)).toEqual(expected);
  });

  it('recognizes a JWT by its decoded header and claims, not by its shape', () => {
    const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const claims = Buffer.from('{"sub":"42"}').toString('base64url');
    const token = `${header}.${claims}.c2lnbmF0dXJl`;
    expect(found(`Bearer ${token}.`, 'JWT')).toEqual([token]);
    const noAlgorithm = `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.${claims}.c2ln`;
    const notJson = `eyJub3QganNvbg.${claims}.c2ln`;
    expect(found(`${noAlgorithm} ${notJson} ${header}.${claims}`, 'JWT')).toEqual([]);
  });

  it('redacts private key blocks whole, including one cut off before its END line, but not public keys', () => {
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\nAoGBAL==\n-----END EC PRIVATE KEY-----';
    const truncated = '-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC';
    const text = `${key}\nand\n-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\nthen ${truncated}\n(cut)`;
    expect(found(text, 'PRIVATE_KEY')).toEqual([key, truncated]);
    const encrypted =
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n' +
      `${'A'.repeat(3000)}\n${'b'.repeat(64)}`;
    expect(found(`${encrypted}\n\nthanks, bye`, 'PRIVATE_KEY')).toEqual([encrypted]);
  });

  it('lets the more specific type win where two overlap', () => {
    // A secret key inside a JWT, a card number that is also a phone-shaped digit run, an IBAN's digits.
    expect(typed('card 4111 1111 1111 1111 iban GB82 WEST 1234 5698 7654 32')).toEqual([
      ['PAYMENT_CARD', '4111 1111 1111 1111'],
      ['IBAN', 'GB82 WEST 1234 5698 7654 32'],
    ]);
    expect(typed('mail 4155550100@example.com')).toEqual([['EMAIL', '4155550100@example.com']]);
  });

  it('looks only for the types asked for', () => {
    const text = 'jane@example.com 415-555-0100';
    expect(findEntities(text, { types: ['PHONE'] }).map((span) => span.type)).toEqual(['PHONE']);
    expect(findEntities(text, { types: [] })).toEqual([]);
  });
});
