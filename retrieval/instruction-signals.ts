/**
 * Text in a document that speaks to the model rather than about the subject: "ignore the instructions
 * above", "reveal your system prompt", "you are now …", a forged prompt fence. Retrieved documents are
 * written by anyone, so ingestion flags a document carrying such text and prompt assembly withholds the
 * sentences themselves. The patterns are a table; each is bounded (no nested quantifiers), so a scan is
 * linear in the text.
 */
export const INSTRUCTION_SIGNALS = [
  {
    name: 'override',
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?\b(?:instructions?|rules|guidelines|prompts?|directions|guardrails?)\b/i,
  },
  {
    name: 'reveal',
    pattern:
      /\b(?:reveal|print|repeat|output|disclose|leak|recite|divulge|show|tell|say|share)\b[^.!?\n]{0,60}?\b(?:system prompt|system message|your instructions|hidden instructions|secret|password|canary|api key|credentials?)\b/i,
  },
  {
    name: 'role-change',
    pattern:
      /\b(?:you are now|from now on,? you|pretend (?:to be|you are)|act as (?:an?|the) (?:ai|assistant|model|system)|new instructions|developer mode|jailbreak)\b/i,
  },
  {
    name: 'addressed-to-model',
    pattern:
      /\b(?:ai|assistant|language model|chatbot|llm)s?\b[^.!?\n]{0,30}?\b(?:must|should|shall|will|are required to)\b[^.!?\n]{0,30}?\b(?:answer|respond|reply|comply|obey|follow|ignore)\b/i,
  },
  {
    name: 'prompt-fence',
    pattern:
      /<\/?\s*(?:document|system|instructions?)\b|^\s*(?:system|assistant)\s*:|\[\/?INST\]|<\|im_(?:start|end)\|>/im,
  },
] as const;

export type InstructionSignal = (typeof INSTRUCTION_SIGNALS)[number]['name'];

/** The signals found anywhere in the text, in table order; empty for ordinary prose. */
export function findInstructionSignals(text: string): InstructionSignal[] {
  return INSTRUCTION_SIGNALS.filter((signal) => signal.pattern.test(text)).map((signal) => signal.name);
}

/** Sentence (or line) boundaries: a scan never crosses a paragraph, so withholding stays local. */
const SENTENCE = /[^.!?\n]+(?:[.!?]+|\n|$)/g;

export interface WithheldText {
  text: string;
  /** Sentences replaced by the marker. */
  withheld: number;
  signals: InstructionSignal[];
}

export const WITHHELD_MARKER = '[instruction-like text withheld]';

/**
 * The text with every sentence that carries an instruction signal replaced by a marker, so the rest of a
 * document still informs the answer while what it tells the model never reaches the model.
 */
export function withholdInstructionText(text: string): WithheldText {
  if (findInstructionSignals(text).length === 0) return { text, withheld: 0, signals: [] };
  const signals = new Set<InstructionSignal>();
  let withheld = 0;
  const kept = text.replace(SENTENCE, (sentence) => {
    const found = findInstructionSignals(sentence);
    if (found.length === 0) return sentence;
    for (const signal of found) signals.add(signal);
    withheld += 1;
    const leading = /^\s*/.exec(sentence)?.[0] ?? '';
    return `${leading}${WITHHELD_MARKER}${sentence.endsWith('\n') ? '\n' : ''}`;
  });
  // A signal spread over two sentences is not local to one: the whole text is withheld then.
  if (findInstructionSignals(kept).length > 0) {
    return { text: WITHHELD_MARKER, withheld: withheld + 1, signals: findInstructionSignals(text) };
  }
  return {
    text: kept,
    withheld,
    signals: INSTRUCTION_SIGNALS.map((s) => s.name).filter((name) => signals.has(name)),
  };
}
