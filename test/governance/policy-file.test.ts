import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decideAuthorization, type PolicyDecision } from '../../domain/policy';
import { routeSelectionFor } from '../../domain/route-selection';
import { diffLines, formatLineDiff } from '../../governance/line-diff';
import {
  fromStoredPolicy,
  parsePolicyFile,
  POLICY_FILE_LIMITS,
  renderPolicyFile,
  toStoredPolicy,
  type PolicyFile,
} from '../../governance/policy-file';
import { parsePromptFile } from '../../governance/prompt-registry';
import { readYamlFile } from '../../governance/yaml-file';
import { DEMO_POLICY_DOCUMENT } from '../../store/seed-demo';
import { bestCpuMsOf } from '../support/cpu-time';

const fixtures = path.resolve(__dirname, '../fixtures/policy-files');
const knownRoutes = ['claude-haiku', 'nova-lite', 'extractive'];

function parseFixture(name: string) {
  return parsePolicyFile(readFileSync(path.join(fixtures, name), 'utf8'), name, { knownRoutes });
}

function validPolicy(): PolicyFile {
  const parsed = parseFixture('valid.policy.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.policy;
}

describe('policy files: five broken files each say where and what was expected', () => {
  it.each<[string, string, RegExp]>([
    [
      'wrong type',
      'wrong-type.policy.yaml',
      /^wrong-type\.policy\.yaml:6: retrieval\.topK: expected a number, got string "four"$/,
    ],
    [
      'unknown route',
      'unknown-route.policy.yaml',
      /^unknown-route\.policy\.yaml:8: routes\.summarize\.confidential\[0\]: unknown route "bedrock-claude" \(known: claude-haiku, nova-lite, extractive\)$/,
    ],
    [
      'unknown capability',
      'unknown-capability.policy.yaml',
      /^unknown-capability\.policy\.yaml:7: roles\.requester\[1\]: unknown capability "sumarize" \(known task types: qa, summarize\)$/,
    ],
    [
      'missing required field',
      'missing-field.policy.yaml',
      /^missing-field\.policy\.yaml:1: dataClasses: missing required field \(expected a mapping\)$/,
    ],
    [
      'bad YAML syntax',
      'bad-syntax.policy.yaml',
      /^bad-syntax\.policy\.yaml:3:1: not valid YAML or JSON: Flow sequence .* must .* end with a \]$/,
    ],
  ])('%s', (_kind, file, expected) => {
    const parsed = parseFixture(file);
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('names every problem of a file at once, JSON included, with the allowed values', () => {
    const parsed = parsePolicyFile(
      '{"dataClasses": {"allowed": ["secret"]}, "taskTypes": {"qa": {}}, "loging": "full"}',
      'p.json',
    );
    expect(parsed.ok ? [] : parsed.problems).toEqual([
      'p.json:1: dataClasses.allowed[0]: "secret" is not allowed (expected one of: public, internal, confidential, restricted)',
      'p.json:1: (top level): unknown field "loging"',
    ]);
  });

  it('checks the redaction and guardrail sections with their own schemas, under their paths', () => {
    const parsed = parsePolicyFile(
      'dataClasses:\n  allowed: [public]\ntaskTypes:\n  qa: {}\nredaction:\n  types: [EMAIL, NAME]\nguardrails:\n  onError: maybe\n',
      'p.yaml',
    );
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems[0]).toMatch(
      /^p\.yaml:6: redaction\.types\[1\]: "NAME" is not allowed \(expected one of: EMAIL, /,
    );
    expect(problems[1]).toBe(
      'p.yaml:8: guardrails.onError: "maybe" is not allowed (expected one of: fail-open, fail-closed)',
    );
  });

  it('does not check route ids without a route table', () => {
    expect(
      parsePolicyFile(readFileSync(path.join(fixtures, 'unknown-route.policy.yaml'), 'utf8'), 'f').ok,
    ).toBe(true);
  });
});

describe('pathological files are refused as problems, not thrown', () => {
  // Nine levels of nine aliases: 9^9 strings if expanded.
  const aliasBomb = [
    'x: &a [l, l, l, l, l, l, l, l, l]',
    ...['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map(
      (name, index) =>
        `${name}: &${name} [${Array(9)
          .fill(`*${String.fromCharCode(97 + index)}`)
          .join(', ')}]`,
    ),
  ].join('\n');

  it.each<[string, (text: string) => { ok: boolean; problems?: string[] }]>([
    ['policy', (text) => parsePolicyFile(text, 'bomb.yaml')],
    ['prompt', (text) => parsePromptFile(`system: s\nuser: u\n${text}`, 'bomb.yaml')],
  ])('a %s file that is a YAML alias bomb', (_, parse) => {
    const parsed = parse(aliasBomb);
    expect(parsed.ok).toBe(false);
    expect(parsed.problems?.[0]).toMatch(/^bomb\.yaml: not valid YAML or JSON: Excessive alias count/);
  });
});

describe('policy files that cannot stall the CLI', () => {
  /** A legal policy with `count` task types (every other one with a prompt), roles and routes for some. */
  function policyWithTaskTypes(count: number, prefix = 'task'): string {
    const names = Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
    return [
      'dataClasses:',
      '  allowed: [public, internal]',
      'taskTypes:',
      ...names.map((name, index) =>
        index % 2 === 0 ? `  ${name}: {}` : `  ${name}:\n    prompt: { name: ${name}, label: production }`,
      ),
      'roles:',
      `  requester: [${names.slice(0, 50).join(', ')}]`,
      'routes:',
      ...names.slice(0, 100).map((name) => `  ${name}:\n    internal: [extractive]`),
      '',
    ].join('\n');
  }

  it('names a duplicated key and both its lines, in YAML, flow mappings and JSON', () => {
    const yamlText = 'dataClasses:\n  allowed: [public]\ntaskTypes:\n  qa: {}\n  summarize: {}\n  qa: {}\n';
    expect(parsePolicyFile(yamlText, 'dup.yaml')).toEqual({
      ok: false,
      problems: ['dup.yaml:6: duplicate key "qa" (first at line 4): a key may appear once per mapping'],
    });
    const flow = parsePolicyFile('dataClasses: { allowed: [public], allowed: [internal] }\n', 'flow.yaml');
    expect(flow.ok ? [] : flow.problems).toEqual([
      'flow.yaml:1: duplicate key "allowed" (first at line 1): a key may appear once per mapping',
    ]);
    const json = parsePolicyFile(
      '{"taskTypes": {"qa": {}},\n "logging": "full",\n "taskTypes": {}}',
      'p.json',
    );
    expect(json.ok ? [] : json.problems).toEqual([
      'p.json:3: duplicate key "taskTypes" (first at line 1): a key may appear once per mapping',
    ]);
    // One property once the file is read: the second would silently replace the first.
    const retyped = parsePolicyFile(
      'dataClasses:\n  allowed: [public]\ntaskTypes:\n  "1": {}\n  1: {}\n',
      'f',
    );
    expect(retyped.ok ? [] : retyped.problems).toEqual([
      'f:5: duplicate key "1" (first at line 4): a key may appear once per mapping',
    ]);
  });

  it('checks prompt files for duplicate keys the same way', () => {
    expect(parsePromptFile('system: s\nuser: u\nsystem: t\n', 'p.prompt.yaml')).toEqual({
      ok: false,
      problems: [
        'p.prompt.yaml:3: duplicate key "system" (first at line 1): a key may appear once per mapping',
      ],
    });
  });

  it('refuses an oversized file before parsing it, naming its size and the limit', () => {
    const text = policyWithTaskTypes(40_000);
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBeGreaterThan(POLICY_FILE_LIMITS.bytes);
    let parsed: ReturnType<typeof parsePolicyFile> | undefined;
    const cpuMs = bestCpuMsOf(() => {
      parsed = parsePolicyFile(text, 'big.policy.yaml');
    });
    expect(parsed).toEqual({
      ok: false,
      problems: [
        `big.policy.yaml: the file is ${bytes} bytes, over the 1048576-byte limit for a policy file`,
      ],
    });
    expect(cpuMs).toBeLessThan(50);
  });

  it('refuses more task types, routed task types or retrieval modes than the limits, naming the limit', () => {
    const count = POLICY_FILE_LIMITS.taskTypes + 1;
    const names = Array.from({ length: count }, (_, index) => `t-${index}`);
    const text = [
      'dataClasses: { allowed: [public] }',
      'taskTypes:',
      ...names.map((name) => `  ${name}: {}`),
      'routes:',
      ...names.map((name) => `  ${name}: {}`),
      'retrieval:',
      '  tasks:',
      ...names.map((name) => `    ${name}: auto`),
    ].join('\n');
    expect(Buffer.byteLength(text)).toBeLessThan(POLICY_FILE_LIMITS.bytes);
    const parsed = parsePolicyFile(text, 'many.yaml');
    expect(parsed.ok ? [] : parsed.problems).toEqual([
      'many.yaml:3: taskTypes: 10001 task types, over the limit of 10000',
      `many.yaml:${count + 4}: routes: 10001 task types with routes, over the limit of 10000`,
      `many.yaml:${2 * count + 6}: retrieval.tasks: 10001 task types with a retrieval mode, over the limit of 10000`,
    ]);
  });

  it('reports the first problems of a file with thousands and counts the rest', () => {
    const text = ['dataClasses: { allowed: [public] }', 'taskTypes:']
      .concat(Array.from({ length: 2_000 }, (_, index) => `  t-${index}: { prompt: 3 }`))
      .join('\n');
    const parsed = parsePolicyFile(text, 'bad.yaml');
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toHaveLength(POLICY_FILE_LIMITS.problemsShown + 1);
    expect(problems[0]).toBe('bad.yaml:3: taskTypes.t-0.prompt: expected a mapping, got number 3');
    expect(problems.at(-1)).toBe(`bad.yaml: and ${2_000 - POLICY_FILE_LIMITS.problemsShown} more problems`);
  });

  it('validates a large legal policy (5,000 task types) in under a second of CPU', () => {
    const texts = [0, 1, 2].map((pass) => policyWithTaskTypes(5_000, `pass${pass}`));
    const results: boolean[] = [];
    const cpuMs = bestCpuMsOf((pass) => {
      results.push(parsePolicyFile(texts[pass] ?? '', 'large.yaml', { knownRoutes: ['extractive'] }).ok);
    });
    expect(results).toEqual([true, true, true]);
    expect(cpuMs).toBeLessThan(1_000);
  });

  it('finds duplicate keys in one pass: a mapping of 30,000 keys reads in well under a second of CPU', () => {
    // Comparing each key with every earlier one (the parser's own check) spends seconds here.
    const texts = [0, 1, 2].map((pass) =>
      Array.from({ length: 30_000 }, (_, index) => `key-${pass}-${index}: ${index}`).join('\n'),
    );
    const results: boolean[] = [];
    const cpuMs = bestCpuMsOf((pass) => {
      results.push(readYamlFile(texts[pass] ?? '', 'keys.yaml').ok);
    });
    expect(results).toEqual([true, true, true]);
    expect(cpuMs).toBeLessThan(1_000);
  });
});

describe('policy files and the stored document', () => {
  it('round-trips: file → stored → file renders the same text', () => {
    const policy = validPolicy();
    const rendered = renderPolicyFile(fromStoredPolicy(toStoredPolicy(policy)));
    const again = parsePolicyFile(rendered, 'rendered.yaml', { knownRoutes });
    expect(again.ok && again.policy).toEqual(policy);
  });

  it('stores what the request path has always read, so older evaluators see the same policy', () => {
    const stored = toStoredPolicy(validPolicy());
    expect(stored).toMatchObject({
      allowedDataClasses: ['public', 'internal', 'confidential'],
      dataClassFloor: 'internal',
      allowedRoutes: ['claude-haiku', 'extractive', 'nova-lite'],
      taskPrompts: { qa: { name: 'qa', label: 'production' } },
      taskTypes: ['qa', 'summarize', 'extract'],
      logging: 'redacted',
      approval: { requiredForDataClasses: ['confidential'], timeoutSeconds: 1800 },
    });
  });

  it('reads a version stored before policy files existed (the demo seed) as a valid file', () => {
    const file = fromStoredPolicy(DEMO_POLICY_DOCUMENT);
    const parsed = parsePolicyFile(renderPolicyFile(file), 'demo.yaml', { knownRoutes });
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && Object.keys(parsed.policy.taskTypes).sort()).toEqual(['extract', 'qa', 'summarize']);
  });

  it('carries the retrieval tasks, source and ranking through to the stored document and back', () => {
    const text = readFileSync(path.join(fixtures, 'valid.policy.yaml'), 'utf8').replace(
      '  contextTokenBudget: 1500\n',
      [
        '  contextTokenBudget: 1500',
        '  tasks:',
        '    summarize: always',
        '  source:',
        '    type: bedrock-knowledge-base',
        '    knowledgeBaseId: ABCDE12345',
        '  ranking: vector',
        '',
      ].join('\n'),
    );
    const parsed = parsePolicyFile(text, 'retrieval.yaml', { knownRoutes });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const stored = toStoredPolicy(parsed.policy);
    expect(stored.retrieval).toEqual({
      enabled: true,
      topK: 4,
      contextTokenBudget: 1500,
      tasks: { summarize: 'always' },
      source: { type: 'bedrock-knowledge-base', knowledgeBaseId: 'ABCDE12345' },
      ranking: 'vector',
    });
    expect(fromStoredPolicy(stored)).toEqual(parsed.policy);
    const wrong = parsePolicyFile(text.replace('ranking: vector', 'ranking: semantic'), 'wrong.yaml', {
      knownRoutes,
    });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.problems.join('\n')).toMatch(
      /wrong\.yaml:\d+: retrieval\.ranking: .*hybrid.*vector.*lexical/,
    );
  });
});

describe('what the request path does with the new sections', () => {
  const tenant = { id: 'acme', status: 'active', tier: 'standard' };
  const principal = {
    id: 'p1',
    status: 'active',
    capabilities: ['qa', 'summarize', 'extract'],
    groups: ['everyone'],
    clearance: 'confidential' as const,
    role: 'requester',
  };
  const request = { tenantId: 'acme', taskType: 'qa', dataClass: 'internal' as const };
  const decide = (overrides: Partial<typeof request> = {}, who = principal) =>
    decideAuthorization(
      { ...request, ...overrides },
      tenant,
      who,
      { version: 7, document: toStoredPolicy(validPolicy()) },
      { keyId: 'k', reservedFeatures: [] },
    );

  it('roles narrow what a principal may run', () => {
    const denied = decide({ taskType: 'extract' });
    expect(denied.allowed).toBe(false);
    expect(!denied.allowed && denied.reason).toBe(
      "role 'requester' may not run task 'extract' under policy version 7 (allowed: qa, summarize)",
    );
    expect(decide({ taskType: 'extract' }, { ...principal, role: 'admin' }).allowed).toBe(true);
  });

  it('a task type the policy does not define is refused', () => {
    const denied = decide({ taskType: 'translate' }, { ...principal, capabilities: ['translate'] });
    expect(!denied.allowed && denied.reason).toBe(
      "task 'translate' is not defined by policy version 7 (defined: qa, summarize, extract)",
    );
  });

  it('routes follow the task and data class, also after retrieval raises the class', () => {
    const decision = decide() as Extract<PolicyDecision, { allowed: true }>;
    expect(decision.allowedRoutes).toEqual(['claude-haiku', 'extractive']);
    const summarize = decide({ taskType: 'summarize' }) as Extract<PolicyDecision, { allowed: true }>;
    expect(summarize.allowedRoutes).toEqual(['nova-lite', 'extractive']);
    const raised = routeSelectionFor(request, decision, 'confidential', ['confidential'], 100);
    expect(raised.allowedRoutes).toEqual(['extractive']);
  });
});

describe('line diff', () => {
  it('marks removed and added lines with context and folds long unchanged runs', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'H', 'i', 'j', 'k'].join('\n');
    expect(formatLineDiff(diffLines(before, after), 1)).toBe(
      ['@@ line 7 @@', '  g', '- h', '+ H', '  i', '  j', '+ k', ''].join('\n'),
    );
    expect(formatLineDiff(diffLines(before, before))).toBe('');
  });

  it('stays linear when two long texts have no lines in common (a 1 MB prompt against another)', () => {
    const before = Array.from({ length: 30_000 }, (_, index) => `a${index}`).join('\n');
    const after = Array.from({ length: 30_000 }, (_, index) => `b${index}`).join('\n');
    const started = Date.now();
    const lines = diffLines(`same\n${before}\nend`, `same\n${after}\nend`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines).toHaveLength(60_002);
    expect(lines[0]).toEqual({ kind: 'same', text: 'same' });
    expect(lines[1]).toEqual({ kind: 'removed', text: 'a0' });
    expect(lines[30_001]).toEqual({ kind: 'added', text: 'b0' });
    expect(lines.at(-1)).toEqual({ kind: 'same', text: 'end' });
  });
});
