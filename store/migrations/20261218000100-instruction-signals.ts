import type { Knex } from 'knex';
import { findInstructionSignals } from '../../retrieval/instruction-signals';

/**
 * Untrusted content (docs/decisions/0023): `documents.instruction_signals` lists the instruction-like
 * signals ingestion found in a document's text (a JSON array, empty for ordinary prose), so operators see
 * which documents try to speak to the model. Documents stored before this migration are scanned from
 * their chunks once, here.
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('documents', 'instruction_signals')) return;
  await knex.raw(`ALTER TABLE documents ADD COLUMN instruction_signals TEXT NOT NULL DEFAULT '[]'`);
  const documents = (await knex('documents').select('id')) as Array<{ id: string }>;
  for (const { id } of documents) {
    const chunks = (await knex('chunks')
      .where({ document_id: id })
      .orderBy('ordinal')
      .select('text')) as Array<{ text: string }>;
    const signals = findInstructionSignals(chunks.map((chunk) => chunk.text).join('\n'));
    if (signals.length > 0) {
      await knex('documents')
        .where({ id })
        .update({ instruction_signals: JSON.stringify(signals) });
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE documents DROP COLUMN instruction_signals');
}
