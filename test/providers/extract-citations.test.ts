import { extractCitations } from '../../providers/extract-citations';

const CHUNKS = [{ documentId: 'refund-policy' }, { documentId: 'returns-faq' }, { documentId: 'doc 7' }];

describe('extractCitations', () => {
  it('keeps retrieved ids in order of first appearance, once each', () => {
    expect(extractCitations('A [returns-faq]. B [refund-policy]. C [returns-faq].', CHUNKS)).toEqual([
      'returns-faq',
      'refund-policy',
    ]);
  });

  it('ignores markers that name no retrieved document', () => {
    expect(extractCitations('See [1], [made-up-doc] and [ refund-policy ] and [].', CHUNKS)).toEqual([
      'refund-policy',
    ]);
  });

  it('reads merged markers as lists, but an id with a space stays whole', () => {
    expect(extractCitations('Both [refund-policy, returns-faq] and [doc 7; nope].', CHUNKS)).toEqual([
      'refund-policy',
      'returns-faq',
      'doc 7',
    ]);
  });

  it('finds nothing in text without markers or without chunks', () => {
    expect(extractCitations('No citations here.', CHUNKS)).toEqual([]);
    expect(extractCitations('[refund-policy]', [])).toEqual([]);
  });
});
