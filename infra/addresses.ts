// Terraform addresses from construct paths, readable and final: `aws_db_instance.database_primary` for
// the construct at <stack>/database/primary. cdktf appends a hash of the path (`database_primary_D3810515`)
// so that two paths which read alike still get distinct names; once a stack is applied, changing an address
// means a `moved` block or a replacement, so the names must be settled before the first apply and must not
// depend on a hash nobody can read in a review. Uniqueness is checked instead of hashed: two elements that
// would share an address fail synth, naming both construct paths.
import type { Node } from 'constructs';
import {
  TerraformDataSource,
  TerraformElement,
  TerraformOutput,
  TerraformProvider,
  TerraformResource,
  type TerraformStack,
} from 'cdktf';

/** Ids cdktf leaves out of its human-readable names (the conventional ids of a construct's main resource). */
const HIDDEN_IDS = new Set(['Default', 'Resource']);
const TERRAFORM_NAME = /^[a-z_][a-z0-9_]*$/;

export class AddressError extends Error {}

/**
 * The name part of an address for the construct path below the stack: components joined with `_`,
 * lowercased, every character Terraform does not allow in a name (`-`, `.`, ...) turned into `_`.
 */
export function readableName(components: string[]): string {
  const words = components.filter((c) => !HIDDEN_IDS.has(c)).map((c) => c.toLowerCase().replace(/[^a-z0-9]+/g, '_'));
  // A component the previous one already ends with (`instance-role/role`, `data-key/key`) says nothing new.
  const kept = words.filter((w, i) => i === 0 || !(words[i - 1] === w || words[i - 1].endsWith(`_${w}`)));
  const name = kept.join('_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  if (!TERRAFORM_NAME.test(name))
    throw new AddressError(
      `construct path ${components.join('/')} gives the Terraform name "${name}", which is not a valid name (it must start with a letter)`,
    );
  return name;
}

/** Where an element's name must be unique: addresses are `<type>.<name>`, `data.<type>.<name>`, `output.<name>`. */
function namespaceOf(element: TerraformElement): string {
  if (TerraformDataSource.isTerraformDataSource(element)) return `data.${element.terraformResourceType}`;
  if (TerraformResource.isTerraformResource(element)) return element.terraformResourceType;
  if (TerraformOutput.isTerraformOutput(element)) return 'output';
  if (TerraformProvider.isTerraformProvider(element)) return `provider.${element.terraformResourceType}`;
  return element.constructor.name;
}

/** Allocates the names of one stack's elements and refuses a second claim on an address. */
export class AddressBook {
  /** `<namespace>.<name>` -> the construct path that has it. */
  private readonly owners = new Map<string, string>();

  constructor(private readonly stack: TerraformStack) {}

  allocate(element: TerraformElement): string {
    const scopes = element.node.scopes;
    const components = scopes.slice(scopes.indexOf(this.stack) + 1).map((c) => c.node.id);
    const name = readableName(components);
    const address = `${namespaceOf(element)}.${name}`;
    const path = element.node.path;
    const owner = this.owners.get(address);
    if (owner !== undefined && owner !== path)
      throw new AddressError(
        `two elements would have the Terraform address ${address}: ${owner} and ${path}. ` +
          'Give one of the constructs another id (addresses are not hashed, so that they stay readable).',
      );
    this.owners.set(address, path);
    return name;
  }
}

/** The element an allocation is for, when it is one (cdktf also asks for ids of plain nodes, e.g. asset folders). */
export function elementOf(target: TerraformElement | Node): TerraformElement | undefined {
  return TerraformElement.isTerraformElement(target) ? target : undefined;
}
