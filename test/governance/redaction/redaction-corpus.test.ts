import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_IN_ENTITY_TYPES, findEntities, redactText, restoreText } from '../../../governance/redaction';

/**
 * The labelled corpus (scripts/build-redaction-corpus.ts writes it): realistic snippets with embedded
 * entities and near-miss decoys — wrong Luhn digits, wrong IBAN checksums, retired SSNs, versions and
 * OIDs shaped like addresses, hashes and UUIDs the length of keys, order numbers, dates, public keys.
 */
interface CorpusEntry {
  id: string;
  text: string;
  entities: Array<{ type: string; value: string }>;
}

const corpus: CorpusEntry[] = readFileSync(join(__dirname, '../../fixtures/redaction-corpus.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CorpusEntry);

interface Tally {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

/** Exact-value matching per type: a detection that is one character short counts as a miss AND a false alarm. */
function measure(): { tallies: Map<string, Tally>; mistakes: string[] } {
  const tallies = new Map<string, Tally>(
    BUILT_IN_ENTITY_TYPES.map((type) => [type, { truePositives: 0, falsePositives: 0, falseNegatives: 0 }]),
  );
  const mistakes: string[] = [];
  for (const entry of corpus) {
    const expected = [...entry.entities];
    for (const span of findEntities(entry.text)) {
      const value = entry.text.slice(span.start, span.end);
      const tally = tallies.get(span.type)!;
      const index = expected.findIndex((label) => label.type === span.type && label.value === value);
      if (index >= 0) {
        tally.truePositives += 1;
        expected.splice(index, 1);
      } else {
        tally.falsePositives += 1;
        mistakes.push(`${entry.id} false positive ${span.type} ${JSON.stringify(value)}`);
      }
    }
    for (const missed of expected) {
      tallies.get(missed.type)!.falseNegatives += 1;
      mistakes.push(`${entry.id} missed ${missed.type} ${JSON.stringify(missed.value)}`);
    }
  }
  return { tallies, mistakes };
}

describe('redaction on the labelled corpus', () => {
  it('has at least 300 strings, decoy-only strings among them, and every built-in type labelled', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(corpus.filter((entry) => entry.entities.length === 0).length).toBeGreaterThanOrEqual(30);
    const labelled = new Set(corpus.flatMap((entry) => entry.entities.map((entity) => entity.type)));
    expect([...labelled].sort()).toEqual([...BUILT_IN_ENTITY_TYPES].sort());
    for (const entry of corpus) {
      for (const entity of entry.entities) expect(entry.text).toContain(entity.value);
    }
  });

  it('reaches recall ≥ 0.98 and precision ≥ 0.95 for every structured type', () => {
    const { tallies, mistakes } = measure();
    const rows = [...tallies].map(([type, tally]) => {
      const found = tally.truePositives + tally.falsePositives;
      const labelled = tally.truePositives + tally.falseNegatives;
      return {
        type,
        labelled,
        recall: labelled === 0 ? 0 : tally.truePositives / labelled,
        precision: found === 0 ? 0 : tally.truePositives / found,
        ...tally,
      };
    });
    console.log(
      [
        `redaction corpus: ${corpus.length} strings`,
        'type                    labelled  recall  precision  TP  FP  FN',
        ...rows.map(
          (row) =>
            `${row.type.padEnd(24)}${String(row.labelled).padStart(8)}  ${row.recall.toFixed(3)}   ${row.precision.toFixed(3)}    ` +
            `${String(row.truePositives).padStart(3)} ${String(row.falsePositives).padStart(3)} ${String(row.falseNegatives).padStart(3)}`,
        ),
        ...mistakes,
      ].join('\n'),
    );
    for (const row of rows) {
      expect({ type: row.type, recallAtLeast098: row.recall >= 0.98 }).toEqual({
        type: row.type,
        recallAtLeast098: true,
      });
      expect({ type: row.type, precisionAtLeast095: row.precision >= 0.95 }).toEqual({
        type: row.type,
        precisionAtLeast095: true,
      });
    }
  });

  it('restores every corpus string exactly and leaves no labelled value in the redacted text', () => {
    for (const entry of corpus) {
      const redacted = redactText(entry.text);
      for (const entity of entry.entities) expect(redacted.text).not.toContain(entity.value);
      const restored = restoreText(redacted.text, redacted.mapping);
      expect(restored.text).toBe(entry.text);
      expect(restored.unknownPlaceholders).toEqual([]);
      expect(restored.restored).toBe(redacted.replacements.length);
    }
  });
});
