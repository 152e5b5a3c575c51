/** Which Bedrock model ids, inference profiles and ARNs a route may name, and where they run. */
export type BedrockModelIdKind =
  | 'foundation-model'
  | 'inference-profile'
  | 'foundation-model-arn'
  | 'inference-profile-arn'
  | 'application-inference-profile-arn'
  | 'provisioned-model-arn';

const ARN_PREFIX = String.raw`arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]{1,20}`;

/**
 * Shapes Bedrock accepts as `modelId`, most specific first: a cross-region inference profile id is a
 * model id with a geography prefix, so it must be tested before the plain model id.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html
 * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-uri-modelId
 */
export const BEDROCK_MODEL_ID_SHAPES: ReadonlyArray<{ kind: BedrockModelIdKind; pattern: RegExp }> = [
  {
    kind: 'inference-profile',
    pattern: /^(?:us|us-gov|eu|apac|jp|au|ca|global)\.[a-z0-9-]{1,63}\.[a-z0-9-:.]{1,63}$/,
  },
  { kind: 'foundation-model', pattern: /^[a-z0-9-]{1,63}\.[a-z0-9-:.]{1,63}$/ },
  {
    kind: 'foundation-model-arn',
    pattern: new RegExp(`^${ARN_PREFIX}::foundation-model/[a-z0-9-]{1,63}\\.[a-z0-9-:.]{1,63}$`),
  },
  {
    kind: 'inference-profile-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:inference-profile/[a-zA-Z0-9-:.]+$`),
  },
  {
    kind: 'application-inference-profile-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:application-inference-profile/[a-zA-Z0-9]+$`),
  },
  {
    kind: 'provisioned-model-arn',
    pattern: new RegExp(`^${ARN_PREFIX}:\\d{12}:provisioned-model/[a-zA-Z0-9]+$`),
  },
];

export function describeBedrockModelId(modelId: string): BedrockModelIdKind | undefined {
  return BEDROCK_MODEL_ID_SHAPES.find((shape) => shape.pattern.test(modelId))?.kind;
}

/**
 * requestMetadata keys and values allow letters, digits, whitespace and `:_@$#=/+,.-`, at most 256
 * characters; anything else is replaced so an unusual tenant id cannot fail the call.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-requestMetadata
 */
export function sanitizeRequestMetadataValue(value: string): string {
  return value.replace(/[^a-zA-Z0-9\s:_@$#=/+,.-]/g, '_').slice(0, 256);
}

/** The region named in a model ARN, if the model id is one. */
export function regionOfArn(modelId: string): string | undefined {
  return modelId.startsWith('arn:') ? modelId.split(':')[3] || undefined : undefined;
}
