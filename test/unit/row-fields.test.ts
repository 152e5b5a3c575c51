import { columnsAsFields, fieldNameOf } from '../../store/row-fields';

describe('columns as fields', () => {
  it.each([
    ['id', 'id'],
    ['tenant_id', 'tenantId'],
    ['retrieved_document_ids', 'retrievedDocumentIds'],
    ['sha256', 'sha256'],
    ['cache_read_tokens', 'cacheReadTokens'],
    ['version_2', 'version2'],
  ])('names column %s field %s', (column, field) => {
    expect(fieldNameOf(column)).toBe(field);
  });

  it('copies only the named columns, values as stored', () => {
    const row = { tenant_id: 'acme', request_id: 'r-1', score: '1', comment: null };
    const fields = columnsAsFields(row, ['tenant_id', 'request_id', 'comment']);
    expect(fields).toEqual({ tenantId: 'acme', requestId: 'r-1', comment: null });
    expect(Object.keys(fields)).not.toContain('score');
  });
});
