import { classifyQuery } from '../../domain/classify-query';
import { bestCpuMsOf } from '../support/cpu-time';

describe('classifyQuery', () => {
  it.each([
    ['Hello!', 'greeting'],
    ['hi there', 'greeting'],
    ['Thanks so much', 'greeting'],
    ['thank you for your help.', 'greeting'],
    ['What is 17 * 23?', 'calculation'],
    ['(120 + 80) / 4', 'calculation'],
    ['Translate to French: Our office is closed on Monday for the national holiday.', 'supplied-text'],
    [
      'Rewrite this more politely: "send me the invoice now or we stop working with you today"',
      'supplied-text',
    ],
    ['Fix the grammar:\nwe was going to the the office yesterday and it were closed', 'supplied-text'],
    ['What is the refund policy?', 'information-need'],
    ['Summarise the refund policy for annual plans', 'information-need'],
    ['Hello, what is the refund policy for hardware returns?', 'information-need'],
    ['Extract the warranty period: hardware', 'information-need'],
    ['How do I configure streaming replication with 2 standbys?', 'information-need'],
    ['What changed in version 15.2?', 'information-need'],
  ])('%j is %s', (question, queryClass) => {
    expect(classifyQuery(question).queryClass).toBe(queryClass);
  });

  it('states its reason without quoting the question', () => {
    const { reason } = classifyQuery('Translate to French: Our office is closed on Monday for the holiday.');
    expect(reason).toBe('a transformation of 9 words of text the request supplies');
  });

  it('stays linear on pathological input', () => {
    const spent = bestCpuMsOf(() => {
      for (const question of [
        '`'.repeat(32_000),
        `hi${' '.repeat(32_000)}x`,
        `fix${':'.repeat(32_000)}`,
        '"'.repeat(32_000),
      ]) {
        classifyQuery(question);
      }
    });
    expect(spent).toBeLessThan(200);
  });
});
