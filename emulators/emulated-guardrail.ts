/**
 * What one emulated Bedrock guardrail enforces. The policies mirror a real guardrail's configuration
 * (word filters, denied topics, sensitive-information filters, contextual grounding), evaluated with
 * simple deterministic rules so tests can predict every verdict. Failures (throttling, 5xx, hanging
 * until the client times out) are scripted per guardrail id with the emulator's behaviour scripts.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html
 */
export interface EmulatedGuardrail {
  /** Custom words or phrases (case-insensitive, whole words) that block. */
  blockedWords?: readonly string[];
  /** Denied topics; the emulator detects a topic when the text contains one of its phrases. */
  deniedTopics?: ReadonlyArray<{ name: string; phrases: readonly string[] }>;
  /** Sensitive information filters by Bedrock PII entity type: block, or mask as `{EMAIL}`. */
  piiEntities?: ReadonlyArray<{ type: EmulatedPiiType; action: 'BLOCK' | 'ANONYMIZE' }>;
  /**
   * Contextual grounding for outputs sent with grounding sources: grounding score = share of the
   * answer's words (3+ letters) found in the sources; relevance = share of the query's words found in
   * the answer. Below a threshold blocks.
   */
  contextualGrounding?: { groundingThreshold?: number; relevanceThreshold?: number };
  blockedInputMessaging?: string;
  blockedOutputsMessaging?: string;
}

export type EmulatedPiiType =
  | 'EMAIL'
  | 'PHONE'
  | 'US_SOCIAL_SECURITY_NUMBER'
  | 'CREDIT_DEBIT_CARD_NUMBER'
  | 'IP_ADDRESS'
  | 'AWS_ACCESS_KEY';

export const DEFAULT_BLOCKED_MESSAGING = 'Sorry, this content is blocked by the guardrail.';

/** Deliberately simple detectors (bounded, so linear); card numbers before phone numbers. */
const PII_PATTERNS: ReadonlyArray<[EmulatedPiiType, RegExp]> = [
  ['EMAIL', /(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g],
  ['AWS_ACCESS_KEY', /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g],
  ['US_SOCIAL_SECURITY_NUMBER', /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g],
  ['CREDIT_DEBIT_CARD_NUMBER', /(?<![\d-])\d{4}(?:[ -]?\d{4}){3}(?![\d-])/g],
  ['IP_ADDRESS', /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g],
  ['PHONE', /(?<![\w+])\+?\d[\d ().-]{7,18}\d(?!\d)/g],
];

export interface GuardrailRequest {
  guardrailId: string;
  guardrailVersion: string;
  source: 'INPUT' | 'OUTPUT';
  /** Blocks qualified `guard_content`, or carrying no qualifier: what is checked. */
  guarded: string[];
  groundingSources: string[];
  query: string;
}

function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

function containsPhrase(words: readonly string[], phrase: string): boolean {
  const wanted = wordsOf(phrase);
  if (wanted.length === 0) return false;
  for (let start = 0; start + wanted.length <= words.length; start += 1) {
    if (wanted.every((word, offset) => words[start + offset] === word)) return true;
  }
  return false;
}

function share(words: readonly string[], pool: ReadonlySet<string>): number {
  const distinct = [...new Set(words.filter((word) => word.length >= 3))];
  if (distinct.length === 0) return 1;
  return distinct.filter((word) => pool.has(word)).length / distinct.length;
}

/** The ApplyGuardrail response body Bedrock would send for this request under this guardrail. */
export function evaluateGuardrail(
  config: EmulatedGuardrail,
  request: GuardrailRequest,
): Record<string, unknown> {
  const started = performance.now();
  const text = request.guarded.join('\n');
  const words = wordsOf(text);
  const assessment: Record<string, unknown> = {};
  let blocked = false;
  let masked = false;

  if (config.deniedTopics?.length) {
    const topics = config.deniedTopics
      .filter((topic) => topic.phrases.some((phrase) => containsPhrase(words, phrase)))
      .map((topic) => ({ name: topic.name, type: 'DENY', action: 'BLOCKED', detected: true }));
    if (topics.length > 0) {
      assessment['topicPolicy'] = { topics };
      blocked = true;
    }
  }

  if (config.blockedWords?.length) {
    const customWords = config.blockedWords
      .filter((word) => containsPhrase(words, word))
      .map((word) => ({ match: word.toLowerCase(), action: 'BLOCKED', detected: true }));
    if (customWords.length > 0) {
      assessment['wordPolicy'] = { customWords, managedWordLists: [] };
      blocked = true;
    }
  }

  let maskedTexts = request.guarded;
  if (config.piiEntities?.length) {
    const actions = new Map(config.piiEntities.map((entity) => [entity.type, entity.action]));
    const piiEntities: Array<Record<string, unknown>> = [];
    maskedTexts = request.guarded.map((block) => {
      let result = block;
      for (const [type, pattern] of PII_PATTERNS) {
        const action = actions.get(type);
        if (!action) continue;
        result = result.replace(pattern, (match) => {
          piiEntities.push({
            match,
            type,
            action: action === 'BLOCK' ? 'BLOCKED' : 'ANONYMIZED',
            detected: true,
          });
          if (action === 'BLOCK') blocked = true;
          else masked = true;
          return `{${type}}`;
        });
      }
      return result;
    });
    if (piiEntities.length > 0) assessment['sensitiveInformationPolicy'] = { piiEntities, regexes: [] };
  }

  const grounding = config.contextualGrounding;
  if (grounding && request.source === 'OUTPUT' && request.groundingSources.length > 0) {
    const filters: Array<Record<string, unknown>> = [];
    const check = (type: 'GROUNDING' | 'RELEVANCE', threshold: number | undefined, score: number) => {
      if (threshold === undefined) return;
      const rounded = Math.round(score * 100) / 100;
      const detected = rounded < threshold;
      if (detected) blocked = true;
      filters.push({ type, threshold, score: rounded, action: detected ? 'BLOCKED' : 'NONE', detected });
    };
    check(
      'GROUNDING',
      grounding.groundingThreshold,
      share(words, new Set(wordsOf(request.groundingSources.join(' ')))),
    );
    if (request.query)
      check('RELEVANCE', grounding.relevanceThreshold, share(wordsOf(request.query), new Set(words)));
    if (filters.length > 0) assessment['contextualGroundingPolicy'] = { filters };
  }

  const characters = text.length;
  const units = Math.max(1, Math.ceil(characters / 1000));
  const usage = {
    topicPolicyUnits: config.deniedTopics?.length ? units : 0,
    contentPolicyUnits: 0,
    wordPolicyUnits: config.blockedWords?.length ? units : 0,
    sensitiveInformationPolicyUnits: config.piiEntities?.length ? units : 0,
    sensitiveInformationPolicyFreeUnits: 0,
    contextualGroundingPolicyUnits: assessment['contextualGroundingPolicy'] ? units : 0,
  };
  const coverage = { textCharacters: { guarded: characters, total: characters } };
  assessment['invocationMetrics'] = {
    guardrailProcessingLatency: Math.round(performance.now() - started),
    usage,
    guardrailCoverage: coverage,
  };
  assessment['appliedGuardrailDetails'] = {
    guardrailId: request.guardrailId,
    guardrailVersion: request.guardrailVersion,
    guardrailArn: `arn:aws:bedrock:us-east-1:123456789012:guardrail/${request.guardrailId}`,
    guardrailOrigin: ['REQUEST'],
    guardrailOwnership: 'SELF',
  };

  const blockedMessaging =
    (request.source === 'INPUT' ? config.blockedInputMessaging : config.blockedOutputsMessaging) ??
    DEFAULT_BLOCKED_MESSAGING;
  const base = { usage, assessments: [assessment], guardrailCoverage: coverage };
  if (blocked) {
    return {
      ...base,
      action: 'GUARDRAIL_INTERVENED',
      actionReason: 'Guardrail blocked.',
      outputs: [{ text: blockedMessaging }],
    };
  }
  if (masked) {
    return {
      ...base,
      action: 'GUARDRAIL_INTERVENED',
      actionReason: 'Guardrail masked.',
      outputs: maskedTexts.map((masked) => ({ text: masked })),
    };
  }
  return { ...base, action: 'NONE', outputs: [] };
}
