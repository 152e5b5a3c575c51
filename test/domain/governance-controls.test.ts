import type { DataClass } from '../../domain/data-class';
import {
  decodeGuardUnavailable,
  redactionFor,
  verdictSummary,
  type RedactionControl,
} from '../../domain/governance-controls';

const CONTROL: RedactionControl = {
  dataClasses: ['confidential', 'restricted'],
  exemptRoutes: ['self-hosted'],
  restoreResponse: true,
  settings: {},
};

describe('redactionFor: whether a prompt leaves redacted', () => {
  const cases: Array<[string, RedactionControl | undefined, string, DataClass, boolean]> = [
    ['no redaction section', undefined, 'claude', 'restricted', false],
    ['a class the policy redacts, to an external route', CONTROL, 'claude', 'confidential', true],
    ['the strictest class', CONTROL, 'claude', 'restricted', true],
    ['a class the policy leaves alone', CONTROL, 'claude', 'internal', false],
    ['an exempt (self-hosted) route', CONTROL, 'self-hosted', 'restricted', false],
  ];
  it.each(cases)('%s', (_name, control, routeId, dataClass, expected) => {
    expect(redactionFor(control, routeId, dataClass) !== undefined).toBe(expected);
  });
});

describe('decodeGuardUnavailable', () => {
  const facts = {
    guardrail: 'bedrock:g:1',
    source: 'output',
    code: 'ThrottlingException',
    message: 'slow down',
  };
  it('reads the details a guard activity attaches', () => {
    expect(decodeGuardUnavailable([{ facts, verdicts: [], text: 'answer' }])).toEqual({
      facts,
      verdicts: [],
      text: 'answer',
    });
  });
  const broken: Array<[string, unknown]> = [
    ['no details', undefined],
    ['an empty list', []],
    ['no facts', [{ verdicts: [], text: 'x' }]],
    ['an unknown source', [{ facts: { ...facts, source: 'sideways' }, verdicts: [], text: 'x' }]],
    ['no text', [{ facts, verdicts: [] }]],
    ['verdicts not a list', [{ facts, verdicts: {}, text: 'x' }]],
  ];
  it.each(broken)('refuses %s', (_name, details) => {
    expect(decodeGuardUnavailable(details)).toBeUndefined();
  });
});

describe('verdictSummary', () => {
  it('keeps who decided what and why, never the text or the assessments', () => {
    const summary = verdictSummary({
      guardrail: 'local',
      source: 'output',
      action: 'anonymized',
      text: 'call {PHONE}',
      reason: 'masked: PHONE',
      assessments: [{ sensitiveInformationPolicy: { piiEntities: [{ match: '{PHONE}' }] } }],
    });
    expect(summary).toEqual({
      guardrail: 'local',
      action: 'anonymized',
      reason: 'masked: PHONE',
      failedOpen: null,
    });
  });
});
