// A named, justified exception to one policy rule on one resource.
import { IConstruct } from 'constructs';

export interface Suppression {
  rule: string;
  reason: string;
}

const METADATA_TYPE = 'cyphr:policy-suppression';

/** Exempts `resource` (and only it) from `rule`. The reason is kept in the construct metadata and shown in reports. */
export function suppressPolicy(resource: IConstruct, rule: string, reason: string): void {
  if (reason.trim().length < 20)
    throw new Error(`${resource.node.path}: suppression of ${rule} needs a written reason (20+ characters)`);
  resource.node.addMetadata(METADATA_TYPE, { rule, reason } satisfies Suppression);
}

export function suppressionsOf(resource: IConstruct): Suppression[] {
  return resource.node.metadata.filter((m) => m.type === METADATA_TYPE).map((m) => m.data as Suppression);
}
