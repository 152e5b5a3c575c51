import type { GuardrailVerdict } from '../../domain/guardrail-verdict';
import {
  BUILT_IN_ENTITY_TYPES,
  createEntityFinder,
  type BuiltInEntityType,
  type EntitySpan,
  type TenantPatternRecognizer,
} from '../redaction';
import type { Guardrail, GuardrailCheck } from './guardrail';

export interface LocalGuardrailRules {
  /** Topics the tenant refuses; a topic is detected when the text contains one of its phrases. */
  deniedTopics: ReadonlyArray<{ name: string; phrases: readonly string[] }>;
  /** Words or phrases that block, matched case-insensitively as whole words. */
  deniedWords: readonly string[];
  /**
   * Scan outputs for personal data and secrets the recognizers know: block the answer, or mask each
   * entity as `{EMAIL}`. Run it on the model's answer BEFORE restoring redaction placeholders, or the
   * caller's own restored values would count as leaks.
   */
  piiLeakage?: { action: 'block' | 'anonymize'; types?: readonly BuiltInEntityType[] };
  blockedInputMessage: string;
  blockedOutputMessage: string;
}

export interface LocalGuardrailOptions {
  /** The tenant's own identifiers count as leaks too. */
  tenantPatterns?: readonly TenantPatternRecognizer[];
}

/** Bedrock's names for the PII types both know; ours stay as custom regex entries. */
const BEDROCK_PII_TYPES: Readonly<Partial<Record<string, string>>> = {
  EMAIL: 'EMAIL',
  PHONE: 'PHONE',
  PAYMENT_CARD: 'CREDIT_DEBIT_CARD_NUMBER',
  IBAN: 'INTERNATIONAL_BANK_ACCOUNT_NUMBER',
  US_SSN: 'US_SOCIAL_SECURITY_NUMBER',
  IPV4: 'IP_ADDRESS',
  IPV6: 'IP_ADDRESS',
  AWS_ACCESS_KEY_ID: 'AWS_ACCESS_KEY',
  AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_KEY',
};

function normalisedWords(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []
  );
}

interface PhraseNode<T> {
  next: Map<string, PhraseNode<T>>;
  values: T[];
}

/** A word trie of the phrases: finding them all costs the text's words × the longest phrase's words. */
function phraseTrie<T>(entries: ReadonlyArray<{ phrase: string; value: T }>): PhraseNode<T> {
  const root: PhraseNode<T> = { next: new Map(), values: [] };
  for (const { phrase, value } of entries) {
    const words = normalisedWords(phrase);
    if (words.length === 0) continue;
    let node = root;
    for (const word of words) {
      let child = node.next.get(word);
      if (!child) {
        child = { next: new Map(), values: [] };
        node.next.set(word, child);
      }
      node = child;
    }
    node.values.push(value);
  }
  return root;
}

function phrasesFound<T>(words: readonly string[], root: PhraseNode<T>): Set<T> {
  const found = new Set<T>();
  for (let start = 0; start < words.length; start += 1) {
    let node = root.next.get(words[start]!);
    for (let offset = start + 1; node; offset += 1) {
      for (const value of node.values) found.add(value);
      node = offset < words.length ? node.next.get(words[offset]!) : undefined;
    }
  }
  return found;
}

/**
 * Denied topics, denied words and (on outputs) a PII-leakage scan, from the tenant's policy data. No
 * network, deterministic, linear in the text. Its assessments use Bedrock's `GuardrailAssessment` shape
 * so the audit reads the same for both, but they never copy a leaked value: a PII entry's `match` is
 * its mask (`{EMAIL}`).
 */
export function createLocalGuardrail(
  rules: LocalGuardrailRules,
  options: LocalGuardrailOptions = {},
): Guardrail {
  const topics = phraseTrie(
    rules.deniedTopics.flatMap((topic) => topic.phrases.map((phrase) => ({ phrase, value: topic.name }))),
  );
  const words = phraseTrie(rules.deniedWords.map((word) => ({ phrase: word, value: word })));
  const leakage = rules.piiLeakage;
  const finder = leakage
    ? createEntityFinder({
        types: leakage.types ?? BUILT_IN_ENTITY_TYPES,
        tenantPatterns: options.tenantPatterns,
      })
    : undefined;

  return {
    id: 'local',
    async check(request: GuardrailCheck): Promise<GuardrailVerdict> {
      const textWords = normalisedWords(request.text);
      const assessment: Record<string, unknown> = {};
      const reasons: string[] = [];
      let blocked = false;

      const deniedTopics = [...phrasesFound(textWords, topics)];
      if (deniedTopics.length > 0) {
        assessment['topicPolicy'] = {
          topics: deniedTopics.map((name) => ({ name, type: 'DENY', action: 'BLOCKED', detected: true })),
        };
        reasons.push(`denied topic ${deniedTopics.map((name) => `'${name}'`).join(', ')}`);
        blocked = true;
      }
      const deniedWords = [...phrasesFound(textWords, words)];
      if (deniedWords.length > 0) {
        assessment['wordPolicy'] = {
          customWords: deniedWords.map((match) => ({ match, action: 'BLOCKED', detected: true })),
          managedWordLists: [],
        };
        reasons.push(`denied word ${deniedWords.map((word) => `'${word}'`).join(', ')}`);
        blocked = true;
      }

      let masked: string | undefined;
      if (finder && leakage && request.source === 'output') {
        const spans = finder.find(request.text);
        if (spans.length > 0) {
          const action = leakage.action === 'block' ? 'BLOCKED' : 'ANONYMIZED';
          const maskOf = (span: EntitySpan) => `{${BEDROCK_PII_TYPES[span.type] ?? span.type}}`;
          const piiEntities = spans
            .filter((span) => BEDROCK_PII_TYPES[span.type])
            .map((span) => ({
              match: maskOf(span),
              type: BEDROCK_PII_TYPES[span.type],
              action,
              detected: true,
            }));
          const regexes = spans
            .filter((span) => !BEDROCK_PII_TYPES[span.type])
            .map((span) => ({ name: span.type, match: maskOf(span), action, detected: true }));
          assessment['sensitiveInformationPolicy'] = { piiEntities, regexes };
          const types = [...new Set(spans.map((span) => span.type))].join(', ');
          reasons.push(`${leakage.action === 'block' ? 'personal data or secrets' : 'masked'}: ${types}`);
          if (leakage.action === 'block') {
            blocked = true;
          } else {
            let position = 0;
            const parts: string[] = [];
            for (const span of spans) {
              parts.push(request.text.slice(position, span.start), maskOf(span));
              position = span.end;
            }
            parts.push(request.text.slice(position));
            masked = parts.join('');
          }
        }
      }

      const verdict: GuardrailVerdict = {
        guardrail: 'local',
        source: request.source,
        action: blocked ? 'blocked' : masked !== undefined ? 'anonymized' : 'none',
        assessments: Object.keys(assessment).length > 0 ? [assessment] : [],
      };
      if (blocked)
        verdict.text = request.source === 'input' ? rules.blockedInputMessage : rules.blockedOutputMessage;
      else if (masked !== undefined) verdict.text = masked;
      if (reasons.length > 0) verdict.reason = reasons.join('; ');
      return verdict;
    },
  };
}
