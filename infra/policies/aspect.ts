// The policy Aspect: visits every resource of a stack and adds a validation that fails synth with
// each violated rule, unless that resource carries a named, justified suppression of that rule.
import { DefaultTokenResolver, IAspect, StringConcat, TerraformResource, TerraformStack, Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';
import { POLICY_RULES, type Attributes, type PolicyContext, type PolicyRule } from './rules';
import { suppressionsOf } from './suppressions';

export interface PolicyOptions {
  /** Production adds the Multi-AZ and deletion-protection rules. */
  production: boolean;
  /** @default POLICY_RULES */
  rules?: PolicyRule[];
}

export interface Violation {
  path: string;
  address: string;
  rule: string;
  message: string;
}

const RESOLVER = new DefaultTokenResolver(new StringConcat());

/** A resource's Terraform attributes, tokens resolved to `${...}` references (depends_on as addresses). */
export function attributesOf(resource: TerraformResource): Attributes {
  const scope = TerraformStack.of(resource);
  const doc = Tokenization.resolve(resource.toTerraform(), { scope, preparing: false, resolver: RESOLVER }) as {
    resource?: Record<string, Record<string, Attributes>>;
  };
  return Object.values(doc.resource?.[resource.terraformResourceType] ?? {})[0] ?? {};
}

export const address = (r: TerraformResource) => `${r.terraformResourceType}.${r.friendlyUniqueId}`;

function resourcesOf(stack: TerraformStack): TerraformResource[] {
  return stack.node.findAll().filter((n): n is TerraformResource => TerraformResource.isTerraformResource(n));
}

/** Facts that span resources: which groups belong to an ALB, which buckets are encrypted. */
export function policyContext(stack: TerraformStack, production: boolean): PolicyContext {
  const context: PolicyContext = { production, albSecurityGroups: new Set(), encryptedBuckets: new Set() };
  for (const resource of resourcesOf(stack)) {
    const a = attributesOf(resource);
    if (
      ['aws_lb', 'aws_alb'].includes(resource.terraformResourceType) &&
      (a.load_balancer_type ?? 'application') === 'application'
    ) {
      for (const group of (a.security_groups as string[] | undefined) ?? [])
        context.albSecurityGroups.add(String(group));
    }
    if (resource.terraformResourceType === 'aws_s3_bucket_server_side_encryption_configuration') {
      const bucket = String(a.bucket);
      context.encryptedBuckets.add(bucket);
      const ref = /^\$\{(aws_s3_bucket\.[^.}]+)\.(id|bucket)\}$/.exec(bucket);
      if (ref) context.encryptedBuckets.add(ref[1]);
    }
  }
  return context;
}

/** Every violation in `stack` (suppressed ones left out). */
export function checkPolicies(stack: TerraformStack, options: PolicyOptions): Violation[] {
  const context = policyContext(stack, options.production);
  return resourcesOf(stack).flatMap((resource) => violationsOf(resource, context, options.rules ?? POLICY_RULES));
}

function violationsOf(resource: TerraformResource, context: PolicyContext, rules: PolicyRule[]): Violation[] {
  const suppressed = new Set(suppressionsOf(resource).map((s) => s.rule));
  const applicable = rules.filter((r) => r.types.includes(resource.terraformResourceType) && !suppressed.has(r.id));
  if (!applicable.length) return [];
  const attributes = attributesOf(resource);
  return applicable.flatMap((rule) => {
    const message = rule.check(attributes, context, address(resource));
    return message ? [{ path: resource.node.path, address: address(resource), rule: rule.id, message }] : [];
  });
}

export class PolicyAspect implements IAspect {
  private readonly visited = new WeakSet<IConstruct>();
  private readonly contexts = new WeakMap<TerraformStack, PolicyContext>();

  constructor(private readonly options: PolicyOptions) {}

  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node) || this.visited.has(node)) return;
    this.visited.add(node);
    const resource = node;
    resource.node.addValidation({
      validate: () =>
        violationsOf(resource, this.context(TerraformStack.of(resource)), this.options.rules ?? POLICY_RULES).map(
          (v) => `policy ${v.rule} (${v.address}): ${v.message}`,
        ),
    });
  }

  /** Built once per stack, at validation time, when every resource exists. */
  private context(stack: TerraformStack): PolicyContext {
    let context = this.contexts.get(stack);
    if (!context) {
      context = policyContext(stack, this.options.production);
      this.contexts.set(stack, context);
    }
    return context;
  }
}
