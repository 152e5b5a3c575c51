import { InvalidArgumentError, Option } from 'commander';

/** `-t, --tenant <id>`, required: the tenant a command changes or reads. */
export function tenantOption(): Option {
  return new Option('-t, --tenant <id>', 'tenant id').makeOptionMandatory();
}

/** `-t, --tenant <id>` for commands a newcomer tries first: the demo tenant unless named. */
export function demoTenantOption(): Option {
  return new Option('-t, --tenant <id>', 'tenant id').default('demo');
}

/** `--author <name>`, required: who makes an audited change. */
export function authorOption(): Option {
  return new Option(
    '--author <name>',
    'who makes the change; recorded in the audit event',
  ).makeOptionMandatory();
}

/** `--api-key <key>`: the operator's key, checked against the store before anything is read or changed. */
export function operatorKeyOption(): Option {
  return new Option(
    '--api-key <key>',
    'an admin or approver key of the tenant (default: GATEHOUSE_API_KEY, or the demo key)',
  );
}

/** `--api-key <key>` of a governance command: a key of the tenant with the command's governance scope. */
export function governanceKeyOption(scope: 'governance:read' | 'governance:write'): Option {
  return new Option(
    '--api-key <key>',
    `a key of the tenant with scope ${scope}; its principal is recorded as the author (default: GATEHOUSE_API_KEY, or the demo governance key)`,
  );
}

/** `--note <text>`: free text recorded beside the authenticated author of a change, never as it. */
export function noteOption(): Option {
  return new Option('--note <text>', "a note recorded with the change (the author is the key's principal)");
}

/**
 * A commander parser for whole numbers from `min` to `max` (inclusive), written in decimal digits;
 * anything else (a blank, which `Number` reads as 0, `1e3`, `0x10`) is refused with `message`, which the
 * CLI prints beside the option.
 */
export function wholeNumberIn(min: number, max: number, message: string): (value: string) => number {
  return (value) => {
    const parsed = /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(message);
    return parsed;
  };
}
