// Each apply rule fails synth on a deliberately bad resource, through the PolicyAspect, and the good
// variant passes.
import { Aspects, Testing, TerraformStack, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { ImagebuilderInfrastructureConfiguration } from '@cdktf/provider-aws/lib/imagebuilder-infrastructure-configuration';
import { ImagebuilderImage } from '@cdktf/provider-aws/lib/imagebuilder-image';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { PolicyAspect } from './aspect';
import { applyPolicyRules, durationSeconds } from './apply-rules';
import { START_BUDGET_SECONDS } from '../constructs/compute';
import { DEPLOY_SESSION_SECONDS, GITHUB_OIDC_HOST } from '../operations/ci-deploy-role';
import { ALB_IDLE_TIMEOUT_SECONDS } from '../../common/operations/timeouts';

function synth(build: (scope: Construct) => void): void {
  const stack = new TerraformStack(Testing.app(), 'apply-policy-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  build(stack);
  Aspects.of(stack).add(new PolicyAspect({ production: true, rules: applyPolicyRules(stack) }));
  Testing.synth(stack, true);
}

const alb = (s: Construct, idleTimeout: number) =>
  new Lb(s, 'alb', { loadBalancerType: 'application', subnets: ['subnet-1'], idleTimeout });
const group = (s: Construct, healthCheckGracePeriod: number) =>
  new AutoscalingGroup(s, 'group', { minSize: 1, maxSize: 2, healthCheckGracePeriod });

/** A private subnet whose way out is a NAT route and an S3 gateway endpoint, and an image built in it. */
function imageBuild(s: Construct, wait: (path: ITerraformDependable[]) => ITerraformDependable[], timeout = '90m') {
  const subnet = new Subnet(s, 'subnet', { vpcId: 'vpc-1', cidrBlock: '10.0.4.0/24' });
  const table = new RouteTable(s, 'rt', { vpcId: 'vpc-1' });
  const route = new Route(s, 'route', {
    routeTableId: table.id,
    destinationCidrBlock: '0.0.0.0/0',
    natGatewayId: 'nat-1',
  });
  const association = new RouteTableAssociation(s, 'rta', { subnetId: subnet.id, routeTableId: table.id });
  const s3 = new VpcEndpoint(s, 's3', {
    vpcId: 'vpc-1',
    serviceName: 'com.amazonaws.eu-central-1.s3',
    vpcEndpointType: 'Gateway',
    routeTableIds: [table.id],
  });
  const ssm = new VpcEndpoint(s, 'ssm', {
    vpcId: 'vpc-1',
    serviceName: 'com.amazonaws.eu-central-1.ssm',
    vpcEndpointType: 'Interface',
    subnetIds: [subnet.id],
  });
  const infrastructure = new ImagebuilderInfrastructureConfiguration(s, 'infra', {
    name: 'i',
    instanceProfileName: 'p',
    subnetId: subnet.id,
    securityGroupIds: ['sg-1'],
    terminateInstanceOnFailure: true,
  });
  new ImagebuilderImage(s, 'image', {
    imageRecipeArn: 'arn:aws:imagebuilder:eu-central-1:111111111111:image-recipe/r/1.0.0',
    infrastructureConfigurationArn: infrastructure.arn,
    timeouts: { create: timeout },
    dependsOn: wait([association, route, s3, ssm]),
  });
}

const deployRole = (s: Construct, maxSessionDuration: number) =>
  new IamRole(s, 'deploy', {
    name: 'deploy',
    maxSessionDuration,
    assumeRolePolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::111111111111:oidc-provider/${GITHUB_OIDC_HOST}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
    }),
  });

describe('apply policy rules', () => {
  it('alb-idle-below-keep-alive: an idle timeout at or above the API keep-alive fails synth', () => {
    expect(() => synth((s) => alb(s, 3600))).toThrow(
      /policy alb-idle-below-keep-alive \(aws_lb\.alb\): idle_timeout 3600 s/,
    );
    expect(() => synth((s) => alb(s, 65))).toThrow(/policy alb-idle-below-keep-alive/);
    expect(() => synth((s) => alb(s, ALB_IDLE_TIMEOUT_SECONDS))).not.toThrow();
  });

  it('asg-grace-covers-start-budget: a grace shorter than boot plus the migration budget fails synth', () => {
    expect(() => synth((s) => group(s, 180))).toThrow(
      new RegExp(`policy asg-grace-covers-start-budget .*180 s is below the start budget \\(${START_BUDGET_SECONDS} s`),
    );
    expect(() => synth((s) => group(s, START_BUDGET_SECONDS))).not.toThrow();
  });

  it('image-build-waits-for-network: an image that does not depend on its route and endpoints fails synth', () => {
    expect(() => synth((s) => imageBuild(s, () => []))).toThrow(
      /policy image-build-waits-for-network \(aws_imagebuilder_image\.image\): depends_on must include aws_route_table_association\.rta, aws_route\.route, aws_vpc_endpoint\.s3, aws_vpc_endpoint\.ssm/,
    );
    // Waiting for the endpoints but not the route is not enough.
    expect(() => synth((s) => imageBuild(s, (path) => path.slice(2)))).toThrow(
      /must include aws_route_table_association\.rta, aws_route\.route:/,
    );
    expect(() => synth((s) => imageBuild(s, (path) => path))).not.toThrow();
  });

  it('image-build-waits-for-network: a subnet without a way out fails synth', () => {
    expect(() =>
      synth((s) => {
        const subnet = new Subnet(s, 'subnet', { vpcId: 'vpc-1', cidrBlock: '10.0.4.0/24' });
        const infrastructure = new ImagebuilderInfrastructureConfiguration(s, 'infra', {
          name: 'i',
          instanceProfileName: 'p',
          subnetId: subnet.id,
        });
        new ImagebuilderImage(s, 'image', { infrastructureConfigurationArn: infrastructure.arn, imageRecipeArn: 'r' });
      }),
    ).toThrow(/policy image-build-waits-for-network .*has no route table association/);
  });

  it('deploy-session-covers-apply: a GitHub deploy role session shorter than the image build plus apply fails synth', () => {
    const withImage = (session: number) => (s: Construct) => {
      imageBuild(s, (path) => path, '90m');
      deployRole(s, session);
    };
    expect(() => synth(withImage(3600))).toThrow(
      /policy deploy-session-covers-apply \(aws_iam_role\.deploy\): max_session_duration 3600 s is shorter than the image build timeout plus 60 min of apply \(9000 s\)/,
    );
    expect(() => synth(withImage(DEPLOY_SESSION_SECONDS))).not.toThrow();
    // Roles other services assume are not deploy roles.
    expect(() =>
      synth((s) => {
        imageBuild(s, (path) => path);
        new IamRole(s, 'service', {
          assumeRolePolicy: JSON.stringify({ Statement: [{ Principal: { Service: 'ec2.amazonaws.com' } }] }),
        });
      }),
    ).not.toThrow();
  });

  it('reads Terraform durations', () => {
    expect(durationSeconds('90m')).toBe(5400);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('45s')).toBe(45);
    expect(() => durationSeconds('ninety')).toThrow(/not a Terraform duration/);
  });
});
