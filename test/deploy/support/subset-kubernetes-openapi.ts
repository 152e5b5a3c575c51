/**
 * Cuts the Kubernetes OpenAPI (v2) document down to the definitions the manifests under deploy/k8s/
 * use, and everything they reference, unchanged. How test/deploy/schemas/kubernetes/ was made:
 *
 *   npx tsx test/deploy/support/subset-kubernetes-openapi.ts <swagger.json> <output.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The kinds deploy/k8s/ uses; add one here (and re-run) before using a new kind. */
export const KUBERNETES_ROOT_DEFINITIONS = [
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.Secret',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.policy.v1.PodDisruptionBudget',
] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function subsetDefinitions(
  definitions: Record<string, Json>,
  roots: readonly string[],
): Record<string, Json> {
  const kept = new Set<string>();
  const visit = (value: Json): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value !== null && typeof value === 'object') {
      const ref = value['$ref'];
      if (typeof ref === 'string') keep(ref.replace('#/definitions/', ''));
      Object.values(value).forEach(visit);
    }
  };
  const keep = (name: string): void => {
    if (kept.has(name)) return;
    const definition = definitions[name];
    if (definition === undefined) throw new Error(`definition ${name} is not in the document`);
    kept.add(name);
    visit(definition);
  };
  roots.forEach(keep);
  return Object.fromEntries([...kept].sort().map((name) => [name, definitions[name] as Json]));
}

if (require.main === module) {
  const [source, target] = process.argv.slice(2);
  if (source === undefined || target === undefined) {
    console.error('usage: subset-kubernetes-openapi.ts <swagger.json> <output.json>');
    process.exit(2);
  }
  const document = JSON.parse(readFileSync(source, 'utf8')) as { definitions: Record<string, Json> };
  const definitions = subsetDefinitions(document.definitions, KUBERNETES_ROOT_DEFINITIONS);
  writeFileSync(target, `${JSON.stringify({ definitions }, null, 2)}\n`);
  console.log(`${Object.keys(definitions).length} definitions written to ${target}`);
}
