/**
 * Validates manifests against the vendored Kubernetes OpenAPI definitions and CRD schemas, the way
 * `kubectl apply --validate=strict` judges them: an unknown field is an error, not silently dropped.
 *
 * The schemas are used as published with three adjustments, the same ones kubeconform's
 * openapi2jsonschema makes: objects that declare properties reject undeclared ones (strict), an
 * int-or-string accepts both, and a quantity accepts a number or a string in Kubernetes' syntax.
 * CEL rules (`x-kubernetes-validations`) are not evaluated here.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { readText, readYaml } from './deploy-files';

type Schema = Record<string, unknown>;

const QUANTITY_DEFINITION = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_META_DEFINITION = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
/** Kubernetes' quantity syntax (apimachinery resource.Quantity), as its CRD validation spells it. */
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

function isObject(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The adjusted copy of a schema (see the module comment). */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!isObject(schema)) return schema;
  const copy: Schema = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, strictSchema(value)]),
  );
  if (copy.format === 'int-or-string' || copy['x-kubernetes-int-or-string'] === true) {
    delete copy.format;
    delete copy.anyOf;
    copy.type = ['integer', 'string'];
  }
  if (
    isObject(copy.properties) &&
    copy.additionalProperties === undefined &&
    copy['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    copy.additionalProperties = false;
  }
  return copy;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('int32', {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isSafeInteger(value) });
  // Base64; line breaks are ignored when Kubernetes decodes it, and kustomize wraps long values.
  ajv.addFormat('byte', /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  return ajv;
}

export interface ManifestProblem {
  manifest: string;
  errors: string[];
}

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const extra =
      error.keyword === 'additionalProperties'
        ? ` '${String((error.params as { additionalProperty?: string }).additionalProperty)}'`
        : error.keyword === 'enum'
          ? ` ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)}`
          : '';
    return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
  });
}

export interface KubernetesValidator {
  /** Kinds this validator knows, as `apiVersion/kind`. */
  knownKinds: string[];
  /** Error messages (empty when valid); an unknown apiVersion/kind is an error too. */
  validate(manifest: unknown): string[];
}

/**
 * @param definitionsFile the vendored subset of the Kubernetes OpenAPI document
 * @param crdFiles vendored CustomResourceDefinitions whose served versions become known kinds
 */
export function createKubernetesValidator(
  definitionsFile: string,
  crdFiles: readonly string[],
): KubernetesValidator {
  const ajv = newAjv();
  const document = JSON.parse(readText(definitionsFile)) as { definitions: Record<string, Schema> };
  const definitions = strictSchema(document.definitions) as Record<string, Schema>;
  const quantity = definitions[QUANTITY_DEFINITION];
  if (quantity === undefined) throw new Error(`${definitionsFile} lacks ${QUANTITY_DEFINITION}`);
  definitions[QUANTITY_DEFINITION] = {
    description: quantity.description,
    oneOf: [{ type: 'string', pattern: QUANTITY_PATTERN }, { type: 'number' }],
  };
  ajv.addSchema({ $id: 'kubernetes', definitions }, 'kubernetes');

  const validators = new Map<string, ValidateFunction>();
  for (const [name, definition] of Object.entries(document.definitions)) {
    const kinds = definition['x-kubernetes-group-version-kind'] as
      { group: string; version: string; kind: string }[] | undefined;
    for (const { group, version, kind } of kinds ?? []) {
      const apiVersion = group === '' ? version : `${group}/${version}`;
      validators.set(`${apiVersion}/${kind}`, ajv.compile({ $ref: `kubernetes#/definitions/${name}` }));
    }
  }
  const objectMeta = ajv.compile({ $ref: `kubernetes#/definitions/${OBJECT_META_DEFINITION}` });

  for (const crdFile of crdFiles) {
    const crd = readYaml(crdFile) as {
      spec: {
        group: string;
        names: { kind: string };
        versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
      };
    };
    for (const version of crd.spec.versions.filter((entry) => entry.served)) {
      const schema = strictSchema(version.schema.openAPIV3Schema) as Schema;
      // A CRD leaves metadata open; the API server validates it as ObjectMeta.
      const crdValidator = ajv.compile(schema);
      const combined = ((manifest: unknown) => {
        const metadata = isObject(manifest) ? manifest.metadata : undefined;
        const okBody = crdValidator(manifest);
        const okMeta = objectMeta(metadata);
        combined.errors = [
          ...(crdValidator.errors ?? []),
          ...(objectMeta.errors ?? []).map((error) => ({
            ...error,
            instancePath: `/metadata${error.instancePath}`,
          })),
        ];
        return okBody && okMeta;
      }) as ValidateFunction;
      validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, combined);
    }
  }

  return {
    knownKinds: [...validators.keys()].sort(),
    validate(manifest) {
      if (!isObject(manifest)) return ['/ is not an object'];
      const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
      const validator = validators.get(key);
      if (validator === undefined) return [`/ unknown apiVersion/kind ${key}`];
      return validator(manifest) ? [] : formatErrors(validator.errors);
    },
  };
}
