/**
 * What kind of question a request asks, for plan-retrieval: only an information need is worth a search.
 * - `greeting`: hello, thanks, goodbye — nothing to look up.
 * - `supplied-text`: a transformation (rewrite, translate, summarise, extract, fix …) of text the caller
 *   supplied in the request itself; the answer comes from that text, not from the tenant's documents.
 * - `calculation`: arithmetic over numbers in the question.
 * - `information-need`: everything else.
 */
export type QueryClass = 'greeting' | 'supplied-text' | 'calculation' | 'information-need';

export interface QueryClassification {
  queryClass: QueryClass;
  /** Why, for the step's audit detail (never the question's text). */
  reason: string;
}

const GREETING =
  /^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening|day)|thanks|thank you|thx|cheers|ok(?:ay)?|great|bye|goodbye|see you)\b(?:[\s,]*(?:there|team|all|everyone|so much|a lot|very much|again|for (?:that|the help|your help)))*[\s!.?:)]*$/i;

const TRANSFORMATION =
  /^(?:please\s+)?(?:can you\s+|could you\s+)?(?:rewrite|rephrase|paraphrase|reword|translate|summari[sz]e|shorten|condense|simplify|proofread|correct|fix|polish|edit|format|reformat|convert|extract|classify|tag|turn|make)\b/i;

/** Text after a colon, in quotes or in a fence: what the caller supplied to be transformed. */
function suppliedSpans(text: string): string[] {
  const spans: string[] = [];
  const colon = text.indexOf(':');
  if (colon >= 0) spans.push(text.slice(colon + 1));
  for (const [open, close] of [
    ['"', '"'],
    ['“', '”'],
    ['```', '```'],
  ] as const) {
    const start = text.indexOf(open);
    const end = text.lastIndexOf(close);
    if (start >= 0 && end > start + open.length - 1) spans.push(text.slice(start + open.length, end));
  }
  return spans;
}

/** Words in the supplied text before it counts as the thing to transform rather than a topic. */
const MIN_SUPPLIED_WORDS = 6;

const ARITHMETIC = /^(?:what(?:'s| is)\s+|calculate\s+|compute\s+)?[\d\s.,+\-*/×÷^%()=]+\??$/i;

function wordCount(text: string): number {
  return text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
}

/** A pure, linear classifier of the question (no model, no I/O); it runs in the plan-retrieval step. */
export function classifyQuery(question: string): QueryClassification {
  const text = question.trim();
  if (GREETING.test(text)) {
    return { queryClass: 'greeting', reason: 'a greeting or thanks, with nothing to look up' };
  }
  if (/\d/.test(text) && ARITHMETIC.test(text) && /[+\-*/×÷^%]/.test(text)) {
    return { queryClass: 'calculation', reason: 'arithmetic over numbers given in the question' };
  }
  if (TRANSFORMATION.test(text)) {
    for (const supplied of suppliedSpans(text)) {
      const words = wordCount(supplied);
      if (words >= MIN_SUPPLIED_WORDS && words * 2 >= wordCount(text)) {
        return {
          queryClass: 'supplied-text',
          reason: `a transformation of ${words} words of text the request supplies`,
        };
      }
    }
  }
  return { queryClass: 'information-need', reason: 'asks for information the documents may hold' };
}
