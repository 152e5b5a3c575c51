import {
  compileTenantPatterns,
  redactionPolicySchema,
  redactText,
  restoreText,
  type TenantPatternRecognizer,
} from '../../../governance/redaction';
import { compileLinearPattern } from '../../../governance/redaction/linear-pattern';

function compiled(patterns: unknown): TenantPatternRecognizer[] {
  const result = compileTenantPatterns(patterns);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.recognizers;
}

describe('the linear pattern engine', () => {
  it.each([
    ['EMP-\\d{6}', 'EMP-004211', true],
    ['EMP-\\d{6}', 'EMP-00421', false],
    ['EMP-\\d{6}', 'XEMP-004211', false],
    ['^(?:CUST|ACCT)-[A-Z]{2}\\d{4,8}$', 'ACCT-DE12345', true],
    ['(?:CUST|ACCT)-[A-Z]{2}\\d{4,8}', 'ACCT-DE123', false],
    ['[^\\s]{2}\\.\\d+', 'ab.12', true],
    ['proj_[a-z]+(?:-[a-z]+)*', 'proj_falcon-eu-west', true],
    ['proj_[a-z]+(?:-[a-z]+)*', 'proj_falcon-', false],
    ['\\u0041\\x42C\\.', 'ABC.', true],
    ['[\\w-]+@internal', 'ops-team@internal', true],
    ['a{2,3}', 'aaaa', false],
    ['colou?r', 'color', true],
    ['.+X', '日本X', true],
  ])('%s matches %s whole → %s', (source, text, expected) => {
    const result = compileLinearPattern(source);
    if (!result.ok) throw new Error(result.problem);
    expect(result.pattern.matchesWhole(text)).toBe(expected);
  });

  it('folds case when asked', () => {
    const result = compileLinearPattern('emp-[a-c]\\d', { caseInsensitive: true });
    if (!result.ok) throw new Error(result.problem);
    expect(['EMP-B7', 'emp-b7', 'Emp-C1'].map((text) => result.pattern.matchesWhole(text))).toEqual([
      true,
      true,
      true,
    ]);
    expect(result.pattern.matchesWhole('EMP-D1')).toBe(false);
  });

  it.each([
    ['(a)\\1', 'backreferences (\\1) are not supported: they cannot be matched in linear time at position 4'],
    ['(?=a)a', 'lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported at position 1'],
    ['(?<!x)a', 'lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported at position 1'],
    ['(?<id>a)', 'named groups are not supported; use (?:…) at position 1'],
    [
      '\\bEMP',
      'word boundaries (\\b) are not supported: a pattern always matches a whole token at position 1',
    ],
    ['(EMP', "'(' is never closed at position 1"],
    ['EMP)', "unexpected ')' at position 4"],
    ['[A-Z', "'[' is never closed at position 1"],
    ['[z-a]', 'range out of order at position 3'],
    ['*EMP', 'nothing to repeat at position 1'],
    ['EMP**', 'a quantifier cannot follow another quantifier at position 5'],
    ['a{5,2}', '{5,2} has its numbers out of order at position 2'],
    ['a{1000}', 'repeat counts above 100 are not supported at position 2'],
    ['a{x}', "'{' does not start a valid {n}, {n,} or {n,m} count; write \\{ for a brace at position 2"],
    ['a^b', "'^' is only allowed at the very start or end at position 2"],
    ['\\p{L}+', 'Unicode property escapes (\\p{…}) are not supported; use a character class at position 1'],
    ['\\q', 'unknown escape \\q at position 1'],
    ['a?', 'the pattern can match an empty token'],
    ['(?:[A-Z]{100}){100}', 'the pattern is too large (more than 512 states once its repeats are expanded)'],
  ])('refuses %s: %s', (source, problem) => {
    expect(compileLinearPattern(source)).toEqual({ ok: false, problem });
  });

  it('runs patterns that make backtracking engines explode in linear time', () => {
    // Each of these takes exponential or polynomial time in JavaScript's own RegExp on these inputs.
    const cases: Array<[string, string]> = [
      ['(a+)+b', 'a'.repeat(30_000)],
      ['(a|aa)+b', 'a'.repeat(30_000)],
      ['(\\w+\\s?)+X', 'word '.repeat(6_000)],
      ['(.*a){20}b', 'a'.repeat(30_000)],
      ['\\d+\\d+\\d+Z', '1'.repeat(30_000)],
    ];
    for (const [source, text] of cases) {
      const result = compileLinearPattern(source);
      if (!result.ok) throw new Error(result.problem);
      const started = performance.now();
      expect(result.pattern.matchesWhole(text)).toBe(false);
      expect({ source, fast: performance.now() - started < 1000 }).toEqual({ source, fast: true });
    }
  });
});

describe('tenant patterns', () => {
  const patterns = [
    { name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', description: 'HR system ids' },
    { name: 'PROJECT_CODE', pattern: 'proj_[a-z]{3,12}', caseInsensitive: true },
  ];

  it('redacts whole tokens, with sentence punctuation around them, and restores them', () => {
    const original =
      'Ask EMP-004211 (or EMP-777777) about PROJ_falcon: EMP-0042110 and xEMP-004211 are not ids. Done, EMP-123456.';
    const { text, mapping } = redactText(original, { tenantPatterns: compiled(patterns) });
    expect(text).toBe(
      'Ask [EMPLOYEE_ID_1] (or [EMPLOYEE_ID_2]) about [PROJECT_CODE_1]: EMP-0042110 and xEMP-004211 are not ids. Done, [EMPLOYEE_ID_3].',
    );
    expect(restoreText(text, mapping).text).toBe(original);
  });

  it('splits tokens at separators such as = and /', () => {
    const { text } = redactText('user=EMP-004211 path /hr/EMP-004212/file', {
      tenantPatterns: compiled(patterns),
    });
    expect(text).toBe('user=[EMPLOYEE_ID_1] path /hr/[EMPLOYEE_ID_2]/file');
  });

  it('lists every problem, naming the pattern and what was expected', () => {
    const result = compileTenantPatterns([
      { name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}' },
      { name: 'employee id', pattern: 'X\\d' },
      { name: 'EMAIL', pattern: 'mail-\\d+' },
      { name: 'EMPLOYEE_ID', pattern: 'E\\d{4}' },
      { name: 'TICKET', pattern: '(T)-\\1' },
      { name: 'WORDS', pattern: '[a-z]+' },
      { name: 'EXTRA', pattern: 'X\\d', flags: 'g' },
      'EMP-\\d{6}',
    ]);
    expect(result).toEqual({
      ok: false,
      problems: [
        'tenant pattern 2: name: name must be UPPER_SNAKE_CASE, 2 to 32 characters, starting with a letter (e.g. EMPLOYEE_ID)',
        'tenant pattern 3 (EMAIL): name EMAIL is a built-in type; choose another name',
        'tenant pattern 4 (EMPLOYEE_ID): name EMPLOYEE_ID is used by an earlier pattern',
        'tenant pattern 5 (TICKET): pattern "(T)-\\\\1": backreferences (\\1) are not supported: they cannot be matched in linear time at position 5',
        'tenant pattern 6 (WORDS): pattern "[a-z]+" matches the ordinary word \'the\' and would redact plain prose; make it more specific',
        "tenant pattern 7: entry: Unrecognized key(s) in object: 'flags'",
        'tenant pattern 8: entry: Expected object, received string',
      ],
    });
    expect(compileTenantPatterns('EMP')).toEqual({
      ok: false,
      problems: ['tenant patterns must be a list of at most 32 entries'],
    });
  });
});

describe('redaction policy', () => {
  it('defaults to every built-in type, no tenant patterns, and restoring the answer', () => {
    expect(redactionPolicySchema.parse({})).toEqual({
      types: [
        'EMAIL',
        'PHONE',
        'PAYMENT_CARD',
        'IBAN',
        'US_SSN',
        'IPV4',
        'IPV6',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'JWT',
        'PRIVATE_KEY',
      ],
      tenantPatterns: [],
      restoreResponse: true,
    });
  });

  it('reports a broken tenant pattern with its name and the problem', () => {
    const result = redactionPolicySchema.safeParse({
      tenantPatterns: [{ name: 'TICKET', pattern: 'T-(?=\\d)' }],
    });
    expect(result.success).toBe(false);
    expect(
      result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    ).toEqual([
      'tenantPatterns: tenant pattern 1 (TICKET): pattern "T-(?=\\\\d)": lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported at position 3',
    ]);
  });
});
