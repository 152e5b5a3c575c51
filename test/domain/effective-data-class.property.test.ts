import fc from 'fast-check';
import { DATA_CLASSES, type DataClass } from '../../domain/data-class';
import { decideAuthorization, reevaluateDataClass } from '../../domain/policy';
import { selectRoutePlan } from '../../domain/route-selection';
import { routeTableSchema } from '../../domain/route-table';

const dataClass = fc.constantFrom(...DATA_CLASSES);
const classSet = fc.uniqueArray(dataClass, { minLength: 1, maxLength: 4 });

/**
 * Issue: the caller's declaration used to decide routing while retrieval read by clearance. Whatever a
 * request declares and whatever it retrieves, no document may reach a route that does not carry its class.
 */
describe('the effective data class, over generated requests', () => {
  it('never sends a document to a route whose data classes exclude its classification', () => {
    fc.assert(
      fc.property(
        dataClass,
        classSet,
        fc.array(dataClass, { maxLength: 6 }),
        fc.array(classSet, { minLength: 1, maxLength: 4 }),
        fc.option(dataClass, { nil: undefined }),
        (declared, allowed, documentClasses, routeClasses, floor) => {
          const table = routeTableSchema.parse({
            version: 'p',
            routes: routeClasses.map((classes, index) => ({
              id: `r${index}`,
              provider: 'extractive',
              model: 'm',
              label: 'l',
              priceUsdPerMillionTokens: { input: 1, output: 1 },
              contextWindowTokens: 100_000,
              maxOutputTokens: 100,
              dataClasses: classes,
              taskQueue: 'q',
              retry: { maximumAttempts: 1, initialIntervalMs: 1 },
            })),
            tasks: { default: { routes: routeClasses.map((_, index) => `r${index}`) } },
          });
          const decision = decideAuthorization(
            {
              tenantId: 't',
              taskType: 'qa',
              dataClass: declared,
              prompt: undefined,
              maxOutputTokens: undefined,
            },
            { id: 't', status: 'active', tier: 'team' },
            { id: 'p', status: 'active', capabilities: ['qa'], groups: [], clearance: 'restricted' },
            { version: 1, document: { allowedDataClasses: allowed, dataClassFloor: floor } },
            { keyId: 'k', reservedFeatures: [] },
          );
          if (!decision.allowed) return;
          const documents = documentClasses.map((classification, index) => ({
            documentId: `d${index}`,
            classification,
          }));
          const reevaluated = reevaluateDataClass(decision, declared, documents);
          if (reevaluated.deniedReason) {
            expect(allowed).not.toContain(reevaluated.effective);
            return;
          }
          const plan = selectRoutePlan(
            table,
            {
              taskType: 'qa',
              dataClass: reevaluated.effective,
              contentClasses: [declared, ...documentClasses],
              tenantTier: 'team',
              allowedRoutes: null,
              allowDegraded: true,
              promptTokens: 10,
              maxOutputTokens: 10,
            },
            {},
            0,
          );
          for (const route of plan.candidates) {
            for (const classification of [declared, ...documentClasses] as DataClass[]) {
              expect(route.dataClasses).toContain(classification);
            }
            expect(route.dataClasses).toContain(reevaluated.effective);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
