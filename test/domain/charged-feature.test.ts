import { decideChargedFeature, type FeatureChargingFacts } from '../../domain/charged-feature';
import { chargedFeatureOf } from '../../domain/policy';

const unbound: FeatureChargingFacts = { keyId: 'k1', reservedFeatures: [] };
const boundToFaq: FeatureChargingFacts = { keyId: 'k1', keyFeatures: ['faq'], reservedFeatures: ['faq'] };
const boundToTwo: FeatureChargingFacts = {
  keyId: 'k1',
  keyFeatures: ['faq', 'search'],
  reservedFeatures: ['faq', 'search'],
};

describe('decideChargedFeature', () => {
  it.each<[string, string | undefined, FeatureChargingFacts, string | null]>([
    ['an unbound key naming nothing: no feature', undefined, unbound, null],
    ['an unbound key naming a feature no key is bound to: that feature', 'faq', unbound, 'faq'],
    [
      'an unbound key naming an unreserved feature while others are reserved',
      'other',
      { ...unbound, reservedFeatures: ['faq'] },
      'other',
    ],
    ['a key bound to one feature, naming nothing: that feature', undefined, boundToFaq, 'faq'],
    ['a key bound to one feature, naming it', 'faq', boundToFaq, 'faq'],
    ['a key bound to two features, naming one of them', 'search', boundToTwo, 'search'],
    ['an empty binding is no binding', 'faq', { ...unbound, keyFeatures: [] }, 'faq'],
  ])('charges %s', (_name, declared, facts, feature) => {
    expect(decideChargedFeature(declared, facts)).toEqual({ allowed: true, feature });
  });

  it.each<[string, string | undefined, FeatureChargingFacts, string]>([
    [
      'a key bound to faq naming another feature',
      'other',
      boundToFaq,
      "key k1 may not charge feature 'other' (it is bound to 'faq')",
    ],
    [
      'a key bound to two features naming neither',
      'other',
      boundToTwo,
      "key k1 may not charge feature 'other' (it is bound to 'faq', 'search')",
    ],
    [
      'a key bound to two features naming nothing',
      undefined,
      boundToTwo,
      "key k1 is bound to features 'faq', 'search'; the request must name one of them",
    ],
    [
      'an unbound key naming a feature a working key is bound to',
      'faq',
      { ...unbound, reservedFeatures: ['faq'] },
      "key k1 is not bound to feature 'faq', which the tenant charges only through keys bound to it",
    ],
  ])('refuses %s', (_name, declared, facts, reason) => {
    expect(decideChargedFeature(declared, facts)).toEqual({ allowed: false, reason });
  });
});

describe('chargedFeatureOf', () => {
  it.each<[string, { feature?: string | null }, string | undefined, string | undefined]>([
    ['the decided feature over the claim', { feature: 'faq' }, 'other', 'faq'],
    ['no feature when the decision charges none', { feature: null }, 'faq', undefined],
    ['the claim for a decision recorded before decisions carried a feature', {}, 'faq', 'faq'],
  ])('takes %s', (_name, decision, declared, charged) => {
    expect(chargedFeatureOf(decision, declared === undefined ? {} : { feature: declared })).toBe(charged);
  });
});
