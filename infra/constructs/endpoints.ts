// VPC endpoints: S3 through a gateway (free), AWS APIs the instances call most through interfaces.
import { Construct } from 'constructs';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';

export interface EndpointsProps {
  namePrefix: string;
  region: string;
  vpcId: string;
  /** Route tables that get the S3 gateway route. */
  routeTableIds: string[];
  /** Subnets holding the interface endpoint ENIs (one per AZ). */
  subnetIds: string[];
  securityGroupId: string;
  /** Interface endpoint services. @default sqs, secretsmanager, ssm, ssmmessages, ec2messages (SSM Session Manager needs the last three) */
  interfaceServices?: string[];
}

export const DEFAULT_INTERFACE_SERVICES = ['sqs', 'secretsmanager', 'ssm', 'ssmmessages', 'ec2messages'];

export class Endpoints extends Construct {
  readonly s3: VpcEndpoint;
  readonly interfaces: Record<string, VpcEndpoint> = {};

  constructor(scope: Construct, id: string, props: EndpointsProps) {
    super(scope, id);
    this.s3 = new VpcEndpoint(this, 's3', {
      vpcId: props.vpcId,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: props.routeTableIds,
      tags: { Name: `${props.namePrefix}-s3` },
    });
    for (const service of props.interfaceServices ?? DEFAULT_INTERFACE_SERVICES) {
      this.interfaces[service] = new VpcEndpoint(this, service, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: props.subnetIds,
        securityGroupIds: [props.securityGroupId],
        tags: { Name: `${props.namePrefix}-${service}` },
      });
    }
  }

  /** Every endpoint: what needs AWS APIs from the private subnets as soon as it starts depends on these. */
  get all(): VpcEndpoint[] {
    return [this.s3, ...Object.values(this.interfaces)];
  }
}
