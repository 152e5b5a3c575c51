import { Option } from 'commander';

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
