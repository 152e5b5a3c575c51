/**
 * Whether a container image reference is pinned to a version: a tag with at least major.minor (so
 * neither `latest`, nor a floating `16` or `pg15`), optionally with a digest.
 */
const REFERENCE =
  /^(?<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::\d+\/[a-z0-9._/-]+)?):(?<tag>[\w][\w.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/;

export function imagePinProblem(reference: unknown): string | undefined {
  if (typeof reference !== 'string' || reference === '') return 'no image';
  const match = REFERENCE.exec(reference);
  if (!match?.groups) return `${reference}: no tag (an untagged image means latest)`;
  const tag = match.groups.tag!;
  if (tag === 'latest') return `${reference}: latest is not a version`;
  if (!/\d+\.\d+/.test(tag)) return `${reference}: tag ${tag} names no major.minor version`;
  return undefined;
}

export function imageTag(reference: string): string | undefined {
  return REFERENCE.exec(reference)?.groups?.tag;
}
