import { inspect } from 'node:util';
import fc from 'fast-check';
import { isRedactionMappingPayload } from '../../../domain/redaction-mapping-payload';
import { canonicalJson } from '../../../governance/canonical-json';
import {
  contentForLog,
  maskEntities,
  RedactionMapping,
  redactText,
  Redactor,
  restoreText,
} from '../../../governance/redaction';
import { sha256Hex } from '../../../governance/sha256';

const QUESTION = 'I am jane@example.com, call 415-555-0100; my colleague is omar@example.org.';

describe('reversible redaction', () => {
  it('replaces entities with numbered placeholders and restores the exact original', () => {
    const { text, mapping, replacements } = redactText(QUESTION);
    expect(text).toBe('I am [EMAIL_1], call [PHONE_1]; my colleague is [EMAIL_2].');
    expect(replacements.map(({ type, placeholder }) => [type, placeholder])).toEqual([
      ['EMAIL', '[EMAIL_1]'],
      ['PHONE', '[PHONE_1]'],
      ['EMAIL', '[EMAIL_2]'],
    ]);
    expect(restoreText(text, mapping)).toEqual({ text: QUESTION, restored: 3, unknownPlaceholders: [] });
  });

  it('keeps placeholders stable across the texts of one request', () => {
    const redactor = new Redactor();
    const question = redactor.redact('Summarise the mails from jane@example.com.');
    const document = redactor.redact('From: omar@example.org\nCc: jane@example.com\nCall +44 20 7946 0958');
    expect(question.text).toBe('Summarise the mails from [EMAIL_1].');
    expect(document.text).toBe('From: [EMAIL_2]\nCc: [EMAIL_1]\nCall [PHONE_1]');
    // The model's answer reuses the placeholders; restoring gives the caller real values back.
    const answer = 'Mails from [EMAIL_1] to [EMAIL_2]; phone [PHONE_1]. Also [EMAIL_7].';
    expect(restoreText(answer, redactor.mapping)).toEqual({
      text: 'Mails from jane@example.com to omar@example.org; phone +44 20 7946 0958. Also [EMAIL_7].',
      restored: 3,
      unknownPlaceholders: ['[EMAIL_7]'],
    });
  });

  it('redacts text that already looks like a placeholder, so restoring stays exact', () => {
    const original =
      'Template says [EMAIL_1] but the real one is jane@example.com and [PLACEHOLDER_LITERAL_1].';
    const { text, mapping } = redactText(original);
    expect(text).toBe(
      'Template says [PLACEHOLDER_LITERAL_1] but the real one is [EMAIL_1] and [PLACEHOLDER_LITERAL_2].',
    );
    expect(restoreText(text, mapping).text).toBe(original);
  });

  it('continues numbering in a later step from the payload it carried', () => {
    const first = new Redactor();
    first.redact('jane@example.com');
    const payload = first.mapping.toEncryptedPayloadOnly();
    const later = Redactor.resume({}, structuredClone(payload));
    expect(later.redact('omar@example.org and jane@example.com').text).toBe('[EMAIL_2] and [EMAIL_1]');
    expect(later.mapping.countsByType()).toEqual({ EMAIL: 2 });
  });

  it('round-trips any text exactly (property test over entity-rich alphabets)', () => {
    const pieces = fc.constantFrom(
      'jane@example.com',
      '415-555-0100',
      '4111 1111 1111 1111',
      'DE89 3704 0044 0532 0130 00',
      '536-22-8890',
      '10.0.0.1',
      '2001:db8::1',
      'AKIAIOSFODNN7EXAMPLE',
      '[EMAIL_1]',
      '[PHONE_',
      ']',
      '[',
      '_1]',
      ' ',
      '.',
      '\n',
      '@',
      '-',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 6 })), { maxLength: 30 }), (parts) => {
        const original = parts.join('');
        const { text, mapping } = redactText(original);
        expect(restoreText(text, mapping).text).toBe(original);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the redaction mapping stays out of logs and audit', () => {
  it('refuses implicit serialisation and prints no values', () => {
    const { mapping } = redactText(QUESTION);
    expect(() => JSON.stringify({ mapping })).toThrow(/never serialised implicitly/);
    expect(() => canonicalJson({ payload: { mapping } })).toThrow(/never serialised implicitly/);
    expect(String(mapping)).toBe('RedactionMapping(3 placeholders, values withheld)');
    expect(inspect({ mapping })).not.toContain('jane@example.com');
    expect(`${mapping}`).not.toContain('example');
  });

  it('has one explicit payload form, which the audit serialiser refuses wherever it is nested', () => {
    const { mapping } = redactText(QUESTION);
    const payload = mapping.toEncryptedPayloadOnly();
    expect(payload).toEqual({
      kind: 'gatehouse.redaction-mapping',
      version: 1,
      originals: {
        '[EMAIL_1]': 'jane@example.com',
        '[PHONE_1]': '415-555-0100',
        '[EMAIL_2]': 'omar@example.org',
      },
    });
    expect(isRedactionMappingPayload(JSON.parse(JSON.stringify(payload)))).toBe(true);
    expect(() => canonicalJson({ step: 'assemble-prompt', detail: [{ restore: payload }] })).toThrow(
      'canonicalJson: a redaction mapping at $.detail[0].restore must never be serialised for audit',
    );
    const rebuilt = RedactionMapping.fromEncryptedPayload(JSON.parse(JSON.stringify(payload)));
    expect(rebuilt.originalOf('[PHONE_1]')).toBe('415-555-0100');
  });

  it('names the problem when a payload is not a mapping', () => {
    expect(() =>
      RedactionMapping.fromEncryptedPayload({ kind: 'gatehouse.redaction-mapping', version: 1 }),
    ).toThrow('not a redaction mapping payload: originals: Required');
    expect(() =>
      RedactionMapping.fromEncryptedPayload({
        kind: 'gatehouse.redaction-mapping',
        version: 1,
        originals: { 'EMAIL-1': 'x' },
      }),
    ).toThrow(/keys must be placeholders like \[EMAIL_1\]/);
  });
});

describe('one-way masking for the audit trail', () => {
  it('masks entities by type with nothing to restore them from', () => {
    expect(maskEntities(QUESTION)).toBe('I am [EMAIL], call [PHONE]; my colleague is [EMAIL].');
  });

  it.each([
    ['full', { text: QUESTION, sha256: sha256Hex(QUESTION) }],
    [
      'redacted',
      { text: 'I am [EMAIL], call [PHONE]; my colleague is [EMAIL].', sha256: sha256Hex(QUESTION) },
    ],
    ['hash', { sha256: sha256Hex(QUESTION) }],
  ] as const)('contentForLog in %s mode', (mode, expected) => {
    expect(contentForLog(QUESTION, mode)).toEqual(expected);
  });
});
