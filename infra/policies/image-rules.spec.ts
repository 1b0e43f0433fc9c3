// Each Image Builder rule fails synth on a deliberately bad resource, through the PolicyAspect.
import { Aspects, Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import {
  ImagebuilderImageRecipe,
  type ImagebuilderImageRecipeConfig,
} from '@cdktf/provider-aws/lib/imagebuilder-image-recipe';
import {
  ImagebuilderInfrastructureConfiguration,
  type ImagebuilderInfrastructureConfigurationConfig,
} from '@cdktf/provider-aws/lib/imagebuilder-infrastructure-configuration';
import { PolicyAspect } from './aspect';
import { imagePolicyRules } from './image-rules';

function stackWith(build: (scope: Construct) => void): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'image-policy-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  build(stack);
  Aspects.of(stack).add(new PolicyAspect({ production: true, rules: imagePolicyRules(stack) }));
  return stack;
}

const subnet = (s: Construct, id: string, tier: 'public' | 'app') =>
  new Subnet(s, id, { vpcId: 'vpc-1', cidrBlock: '10.0.0.0/24', tags: { Tier: tier } });
const recipe = (s: Construct, overrides: Partial<ImagebuilderImageRecipeConfig> = {}) =>
  new ImagebuilderImageRecipe(s, 'recipe', {
    name: 'r',
    version: '1.0.0',
    parentImage: 'arn:aws:imagebuilder:eu-central-1:aws:image/amazon-linux-2023-x86/x.x.x',
    component: [{ componentArn: 'arn:aws:imagebuilder:eu-central-1:111111111111:component/c/1.0.0/1' }],
    blockDeviceMapping: [{ deviceName: '/dev/xvda', ebs: { encrypted: 'true', volumeType: 'gp3' } }],
    ...overrides,
  });
const infrastructure = (s: Construct, overrides: Partial<ImagebuilderInfrastructureConfigurationConfig> = {}) =>
  new ImagebuilderInfrastructureConfiguration(s, 'infra', {
    name: 'i',
    instanceProfileName: 'p',
    subnetId: subnet(s, 'app', 'app').id,
    securityGroupIds: ['sg-1'],
    terminateInstanceOnFailure: true,
    instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
    ...overrides,
  });

const BAD: Record<string, (s: Construct) => unknown> = {
  'image-recipe-ebs-encrypted': (s) =>
    recipe(s, { blockDeviceMapping: [{ deviceName: '/dev/xvda', ebs: { encrypted: 'false' } }] }),
  'image-builder-imdsv2': (s) => infrastructure(s, { instanceMetadataOptions: { httpTokens: 'optional' } }),
  'image-builder-private-subnet': (s) => infrastructure(s, { subnetId: subnet(s, 'public', 'public').id }),
  'image-builder-terminate-on-failure': (s) => infrastructure(s, { terminateInstanceOnFailure: false }),
};

describe('image builder policy rules', () => {
  it.each(Object.keys(BAD))('%s fails synth on a bad resource', (rule) => {
    expect(() =>
      Testing.synth(
        stackWith((s) => BAD[rule](s)),
        true,
      ),
    ).toThrow(new RegExp(`policy ${rule} \\(`));
  });

  it('a recipe without declared volumes and a configuration without a subnet fail too', () => {
    expect(() =>
      Testing.synth(
        stackWith((s) => recipe(s, { blockDeviceMapping: [] })),
        true,
      ),
    ).toThrow(/policy image-recipe-ebs-encrypted .*declare the root volume/);
    expect(() =>
      Testing.synth(
        stackWith((s) => infrastructure(s, { subnetId: undefined })),
        true,
      ),
    ).toThrow(/policy image-builder-private-subnet .*default VPC/);
  });

  it('a good recipe and configuration pass', () => {
    expect(() =>
      Testing.synth(
        stackWith((s) => {
          recipe(s);
          infrastructure(s);
        }),
        true,
      ),
    ).not.toThrow();
  });
});
