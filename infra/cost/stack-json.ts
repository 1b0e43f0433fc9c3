/** Reading a synthesized stack (cdk.tf.json): resources by type, and references between them. */
export type Attributes = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Resources = Record<string, Record<string, Attributes>>;

export interface StackJson {
  resource?: Resources;
}

export function resourcesOf(stack: StackJson): Resources {
  return stack.resource ?? {};
}

export function all(resources: Resources, type: string): Array<[string, Attributes]> {
  return Object.entries(resources[type] ?? {});
}

/** `${aws_launch_template.name.id}` → the attributes of aws_launch_template.name. */
export function referenced(resources: Resources, reference: unknown): Attributes | undefined {
  const match = /^\$\{([a-z0-9_]+)\.([^.}]+)\./.exec(String(reference ?? ''));
  return match ? resources[match[1]]?.[match[2]] : undefined;
}

/** A Terraform boolean as the JSON holds it (true or "true"). */
export const isTrue = (value: unknown) => value === true || value === 'true';

/** `address` for people: type.name. */
export const address = (type: string, name: string) => `${type}.${name}`;
