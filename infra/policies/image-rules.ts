// Policy rules for EC2 Image Builder, in the shape of rules.ts: build instances are private, require
// IMDSv2 and go away when a build fails; recipes encrypt every volume of the AMI. Which subnets are
// public is a fact across resources, read from the stack once, at validation time.
import { TerraformResource, TerraformStack } from 'cdktf';
import { attributesOf } from './aspect';
import type { Attributes, PolicyRule } from './rules';

const list = (value: unknown): Attributes[] => (Array.isArray(value) ? value : value ? [value] : []) as Attributes[];
const truthy = (value: unknown) => value === true || value === 'true';

/** `${aws_subnet.x.id}` of subnets that hand out public IPs or are tagged Tier = public (network.ts). */
function publicSubnets(stack: TerraformStack): Set<string> {
  const found = new Set<string>();
  for (const node of stack.node.findAll()) {
    if (!TerraformResource.isTerraformResource(node) || node.terraformResourceType !== 'aws_subnet') continue;
    const a = attributesOf(node);
    const tags = (a.tags ?? {}) as Record<string, unknown>;
    if (truthy(a.map_public_ip_on_launch) || tags.Tier === 'public')
      found.add(`\${aws_subnet.${node.friendlyUniqueId}.id}`);
  }
  return found;
}

/** The Image Builder rules for `stack`. */
export function imagePolicyRules(stack: TerraformStack): PolicyRule[] {
  let cached: Set<string> | undefined;
  const publicSubnet = (id: unknown) => (cached ??= publicSubnets(stack)).has(String(id));
  return [
    {
      id: 'image-recipe-ebs-encrypted',
      description: 'Image recipes declare every EBS volume encrypted',
      types: ['aws_imagebuilder_image_recipe'],
      check: (a) => {
        const volumes = list(a.block_device_mapping).filter((m) => !truthy(m.no_device));
        if (!volumes.length) return 'declare the root volume in block_device_mapping with ebs.encrypted = true';
        return volumes.every((m) => truthy(list(m.ebs)[0]?.encrypted))
          ? undefined
          : 'every block_device_mapping must set ebs.encrypted = true';
      },
    },
    {
      id: 'image-builder-imdsv2',
      description: 'Image Builder instances require IMDSv2 tokens',
      types: ['aws_imagebuilder_infrastructure_configuration'],
      check: (a) =>
        list(a.instance_metadata_options)[0]?.http_tokens === 'required'
          ? undefined
          : 'instance_metadata_options.http_tokens must be "required" (IMDSv2)',
    },
    {
      id: 'image-builder-private-subnet',
      description: 'Image Builder instances run in a private subnet with their own security groups',
      types: ['aws_imagebuilder_infrastructure_configuration'],
      check: (a) => {
        // Without a subnet, Image Builder uses the default VPC, whose subnets hand out public IPs.
        if (!a.subnet_id) return 'subnet_id must name a private subnet (the default VPC is public)';
        if (!list(a.security_group_ids).length) return 'security_group_ids must be set (no default group)';
        return publicSubnet(a.subnet_id) ? `subnet_id ${a.subnet_id} is a public subnet` : undefined;
      },
    },
    {
      id: 'image-builder-terminate-on-failure',
      description: 'A failed build leaves no instance running',
      types: ['aws_imagebuilder_infrastructure_configuration'],
      check: (a) =>
        truthy(a.terminate_instance_on_failure) ? undefined : 'terminate_instance_on_failure must be true',
    },
  ];
}
